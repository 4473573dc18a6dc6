import { open } from 'node:fs/promises';
import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';

/** One file of a zip archive. */
export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

/** One file of a streamed zip archive: its bytes may arrive in chunks. */
export interface ZipStreamEntry {
  readonly name: string;
  readonly data: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

const DOS_EPOCH = (1 << 21) | (1 << 16); // 1980-01-01: fixed, so the same content gives the same archive
/** No zip64: an entry or offset at 4 GiB or more cannot be written. */
const ZIP32_LIMIT = 0xffffffff;

interface Written {
  readonly name: Buffer;
  readonly crc: number;
  readonly packed: number;
  readonly size: number;
  readonly offset: number;
}

function localHeader(e: Omit<Written, 'offset'>): Buffer {
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0x0800, 6); // UTF-8 names
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(DOS_EPOCH, 10);
  local.writeUInt32LE(e.crc, 14);
  local.writeUInt32LE(e.packed, 18);
  local.writeUInt32LE(e.size, 22);
  local.writeUInt16LE(e.name.length, 26);
  local.writeUInt16LE(0, 28);
  return Buffer.concat([local, e.name]);
}

function centralDirectory(entries: readonly Written[], end: number): Buffer {
  const centrals: Buffer[] = [];
  for (const e of entries) {
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(DOS_EPOCH, 12);
    central.writeUInt32LE(e.crc, 16);
    central.writeUInt32LE(e.packed, 20);
    central.writeUInt32LE(e.size, 24);
    central.writeUInt16LE(e.name.length, 28);
    central.writeUInt32LE(e.offset, 42);
    centrals.push(central, e.name);
  }
  const directory = Buffer.concat(centrals);
  const tail = Buffer.alloc(22);
  tail.writeUInt32LE(0x06054b50, 0);
  tail.writeUInt16LE(entries.length, 8);
  tail.writeUInt16LE(entries.length, 10);
  tail.writeUInt32LE(directory.length, 12);
  tail.writeUInt32LE(end, 16);
  return Buffer.concat([directory, tail]);
}

/**
 * A zip archive (deflate, no zip64) that any unzip tool opens: the download a person gets.
 * Small enough to write here rather than take a dependency for it.
 */
export function writeZip(entries: readonly ZipEntry[]): Buffer {
  const out: Buffer[] = [];
  const written: Written[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const packed = deflateRawSync(entry.data);
    const e = { name, crc: crc32(entry.data), packed: packed.length, size: entry.data.length, offset };
    const local = localHeader(e);
    out.push(local, packed);
    written.push(e);
    offset += local.length + packed.length;
  }
  return Buffer.concat([...out, centralDirectory(written, offset)]);
}

/** What `writeZipFile` held at most at once, for the tests that pin it: bytes waiting to be written. */
export interface ZipWriteStats {
  maxPendingBytes: number;
}

/**
 * The same archive as `writeZip`, written to `file` as the entries' bytes arrive: each entry
 * is deflated chunk by chunk and written out at once, its local header (CRC and sizes, known
 * only at its end) written in place afterwards, so memory holds a chunk and zlib's window
 * whatever the archive's size. The file is created or truncated; on failure it is left partial.
 */
export async function writeZipFile(
  file: string,
  entries: AsyncIterable<ZipStreamEntry> | Iterable<ZipStreamEntry>,
  stats: ZipWriteStats = { maxPendingBytes: 0 },
): Promise<string[]> {
  const handle = await open(file, 'w');
  try {
    const written: Written[] = [];
    let offset = 0;
    for await (const entry of entries) {
      const name = Buffer.from(entry.name, 'utf8');
      const headerAt = offset;
      offset += 30 + name.length;
      let crc = 0;
      let size = 0;
      let packed = 0;
      const deflate = createDeflateRaw();
      const outputs: Buffer[] = [];
      let pending = 0;
      deflate.on('data', (c: Buffer) => {
        outputs.push(c);
        pending += c.length;
      });
      const flushOut = async () => {
        stats.maxPendingBytes = Math.max(stats.maxPendingBytes, pending);
        const list = outputs.splice(0);
        pending = 0;
        for (const c of list) {
          await handle.write(c, 0, c.length, offset);
          offset += c.length;
          packed += c.length;
        }
      };
      const feed = (chunk: Uint8Array | null) =>
        new Promise<void>((resolve, reject) => {
          deflate.once('error', reject);
          const done = () => {
            deflate.off('error', reject);
            resolve();
          };
          // No flush between chunks: the same deflate stream as one call over the whole entry. The callback comes once zlib has taken the chunk.
          if (chunk === null) deflate.end(done);
          else deflate.write(chunk, done);
        });
      const source = entry.data instanceof Uint8Array ? [entry.data] : entry.data;
      for await (const chunk of source) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        await feed(chunk);
        await flushOut();
      }
      await feed(null);
      await new Promise<void>((resolve) => (deflate.readableEnded ? resolve() : deflate.once('end', resolve)));
      await flushOut();
      if (size > ZIP32_LIMIT || offset > ZIP32_LIMIT) throw new Error(`zip entry ${entry.name} is too large for a zip without zip64`);
      const e = { name, crc, packed, size, offset: headerAt };
      await handle.write(localHeader(e), 0, 30 + name.length, headerAt);
      written.push(e);
    }
    const tail = centralDirectory(written, offset);
    await handle.write(tail, 0, tail.length, offset);
    return written.map((e) => e.name.toString('utf8'));
  } finally {
    await handle.close();
  }
}
