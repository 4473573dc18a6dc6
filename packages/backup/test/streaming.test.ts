import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTenant } from '@ekm/entra-mock';
import { MemoryJournal, ProviderFailure, TenantKeys } from '@ekm/kms';
import { MemoryKms } from '@ekm/kms/testing';
import { type ByteRange, MemoryBucket } from '../src/bucket.ts';
import { parseJsonArray, stringifyJsonArray } from '../src/json-stream.ts';
import { newSnapshotId, SnapshotStore } from '../src/snapshots.ts';
import { writeZip, writeZipFile } from '../src/zip.ts';
import { readZip } from './support/zip-reader.ts';

/** A bucket whose reads are counted chunk by chunk, and which tracks how many objects are open for reading at once. */
class CountingBucket extends MemoryBucket {
  pulled = 0;
  open = 0;
  maxOpen = 0;
  override async getStream(key: string, range?: ByteRange) {
    const inner = await super.getStream(key, range);
    if (inner === undefined) return undefined;
    const self = this;
    return (async function* () {
      self.open++;
      self.maxOpen = Math.max(self.maxOpen, self.open);
      try {
        for await (const c of inner) {
          self.pulled++;
          yield c;
        }
      } finally {
        self.open--;
      }
    })();
  }
}

async function stored(users: number) {
  const kms = new MemoryKms();
  const arn = kms.createKey();
  const keys = new TenantKeys(kms, new MemoryJournal());
  const state = generateTenant({ seed: 9, users, referenceDate: new Date('2026-01-01T00:00:00Z') });
  await keys.create(state.tenantId, arn);
  const bucket = new CountingBucket();
  bucket.readChunk = 4096;
  const store = new SnapshotStore(bucket);
  const key = await keys.unwrap(state.tenantId);
  const meta = {
    id: newSnapshotId(new Date('2026-02-01T00:00:00Z')),
    accountId: 'a1',
    tenantId: state.tenantId,
    workflow: 'manualBackup' as const,
    createdAt: '2026-02-01T00:00:00.000Z',
    keyArn: arn,
    cloudKeyManagement: false,
  };
  const manifest = await store.write(key, state, meta);
  return { state, bucket, store, key, manifest };
}

const chunked = async function* (bytes: Uint8Array, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
};

describe('JSON arrays as streams', () => {
  it.each([1, 3, 64, 100_000])('parses exactly what JSON.parse parses, in chunks of %i bytes, and writes exactly what JSON.stringify writes', async (size) => {
    const values = [{ a: 'x,y]}"\\', b: [1, { c: null }] }, 'str"ing', 12.5, [], {}, { deep: [[['[']]] }, true, null];
    for (const indent of [0, 2]) {
      const parts: Uint8Array[] = [];
      for await (const c of stringifyJsonArray(values, { indent })) parts.push(c);
      const text = Buffer.concat(parts);
      expect(text.toString()).toBe(JSON.stringify(values, null, indent));
      const back: unknown[] = [];
      for await (const v of parseJsonArray(chunked(text, size))) back.push(v);
      expect(back).toEqual(values);
    }
    const empty: unknown[] = [];
    for await (const v of parseJsonArray(chunked(new TextEncoder().encode(' [ ] '), size))) empty.push(v);
    expect(empty).toEqual([]);
  });

  it.each(['[1,]', '[1', '{}', '[1]x', '[,1]'])('refuses %s', async (text) => {
    const read = async () => {
      for await (const _ of parseJsonArray(chunked(new TextEncoder().encode(text), 2)));
    };
    await expect(read()).rejects.toThrow(SyntaxError);
  });
});

describe('snapshot parts read as streams', () => {
  it('hands out the first user before most of the stored user part has been read, and holds one part open at a time', async () => {
    const { bucket, store, key, manifest, state } = await stored(2_000);
    const userPart = manifest.parts.find((p) => p.part === 'user')!;
    const chunks = Math.ceil(userPart.bytes / bucket.readChunk);
    expect(chunks).toBeGreaterThan(100);
    let pulledAtFirst = -1;
    const users: unknown[] = [];
    for await (const { part, items } of store.parts(key, manifest)) {
      const before = bucket.pulled;
      for await (const item of items) {
        if (part === 'user') {
          if (pulledAtFirst < 0) pulledAtFirst = bucket.pulled - before;
          users.push(item);
        }
      }
    }
    // A read that buffered the part (or its plaintext) would have pulled all of it first.
    expect(pulledAtFirst).toBeGreaterThan(0);
    expect(pulledAtFirst).toBeLessThan(chunks / 4);
    expect(bucket.maxOpen).toBe(1);
    expect(users).toEqual(state.objects.user);
  });

  it('a part altered in storage is refused (DataTampered) even when its consumer stops reading it early', async () => {
    const { bucket, store, key, manifest } = await stored(2_000);
    // Several frames: the first items are authenticated and handed out before the altered last frame is reached.
    const part = manifest.parts.find((p) => p.part === 'user')!;
    expect(part.bytes).toBeGreaterThan(3 * 256 * 1024);
    const body = (await bucket.get(part.object))!.body;
    body[body.length - 3] = body[body.length - 3]! ^ 1;
    await bucket.put(part.object, body);
    const read = async () => {
      for await (const { items } of store.parts(key, manifest)) for await (const _ of items) break;
    };
    const error = await read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderFailure);
    expect((error as ProviderFailure).code).toBe('DataTampered');
  });
});

describe('zip written as a stream', () => {
  it('is byte for byte the archive writeZip makes, and holds only a chunk of deflate output at a time', async () => {
    const big = new Uint8Array(20 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 27);
    const entries = [
      { name: 'snapshot.json', data: new TextEncoder().encode('{"a":1}') },
      { name: 'empty.json', data: new Uint8Array(0) },
      { name: 'user.json', data: big },
    ];
    const file = join(tmpdir(), `ekm-zip-${process.pid}-${Date.now()}.zip`);
    try {
      const stats = { maxPendingBytes: 0 };
      const names = await writeZipFile(
        file,
        entries.map((e) => ({ name: e.name, data: chunked(e.data, 64 * 1024) })),
        stats,
      );
      expect(names).toEqual(entries.map((e) => e.name));
      const archive = await readFile(file);
      expect(archive.equals(writeZip(entries))).toBe(true);
      expect(readZip(archive).map((e) => e.data.length)).toEqual(entries.map((e) => e.data.length));
      // 20 MiB of poorly compressible bytes went through: a writer that gathered an entry would hold ~10+ MiB.
      expect(stats.maxPendingBytes).toBeLessThan(1024 * 1024);
    } finally {
      await rm(file, { force: true });
    }
  });
});
