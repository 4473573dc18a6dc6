/**
 * Reads Encryption SDK messages (format v2, framed, unsigned) with the SDK's own materials: its
 * materials manager and keyring unwrap the data key, its `getDecryptionHelper` derives the frame
 * key and checks the key commitment (once per message, before any key is used). The framing is
 * followed here, with node:crypto AES-GCM straight on each frame, as the bytes arrive, without
 * copying them: the SDK's decrypt streams spent about half of decrypt in stream plumbing, copies
 * and garbage (bench/stages.ts). It makes every check the SDK's decrypt makes, and more:
 * only the one expected suite, the encryption context compared exactly, and nothing after the
 * final frame.
 */
import { getDecryptionHelper, NodeAlgorithmSuite, type AlgorithmSuiteIdentifier, type NodeMaterialsManager } from '@aws-crypto/client-node';
import { FINAL, FRAMED, frameAad, HEADER_IV, IV, parseHeader, serializeContext, TAG } from './format.ts';

/** Why a message was refused: its context is another's, bytes follow its end, or anything else (integrity). */
export class Refused extends Error {
  override readonly name = 'Refused';
  readonly reason: 'context' | 'trailing' | 'integrity';
  constructor(reason: Refused['reason'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

export interface OpenOptions {
  readonly cmm: NodeMaterialsManager;
  readonly suiteId: AlgorithmSuiteIdentifier;
  /** The context the message must carry, exactly. */
  readonly context: Record<string, string>;
}

/**
 * The plaintext of the message `source` carries, one authenticated frame at a time: a frame is
 * released only once its tag is verified, and the final frame only once the source has ended
 * right after it. Fails with `Refused` (or the source's own error).
 */
export async function* open(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, o: OpenOptions): AsyncGenerator<Buffer> {
  const input = new Input(source);
  try {
    const header = await readHeader(input);
    if (header.suiteId !== o.suiteId) throw new Refused('integrity', `suite 0x${header.suiteId.toString(16)}, not 0x${o.suiteId.toString(16)}`);
    if (header.contentType !== FRAMED) throw new Refused('integrity', `content type ${header.contentType}, not framed`);
    if (header.frameLength === 0) throw new Refused('integrity', 'a frame length of 0');
    // Compared as the bytes the SDK writes (pairs sorted by key): one context, one encoding.
    if (!Buffer.from(header.context).equals(serializeContext(o.context))) throw new Refused('context', 'the encryption context of other data');
    const material = await o.cmm.decryptMaterials({ suite: new NodeAlgorithmSuite(header.suiteId), encryptionContext: o.context, encryptedDataKeys: header.encryptedDataKeys });
    const { getDecipherInfo, getVerify, dispose } = getDecryptionHelper(material);
    try {
      if (getVerify !== undefined) throw new Refused('integrity', 'a signed suite');
      // Derives the key only if the commitment matches (the SDK's own check).
      const getDecipher = getDecipherInfo(header.messageId, header.commitment);
      const auth = getDecipher(HEADER_IV);
      auth.setAAD(header.body);
      auth.setAuthTag(header.tag);
      auth.update(Buffer.alloc(0));
      auth.final();
      for (let seq = 1; ; seq++) {
        if (!(await input.fill(4))) throw new Refused('integrity', 'the message ends before its final frame');
        const final = input.u32() === FINAL;
        if (!(await input.fill(final ? 4 + 4 + IV + 4 : 4 + IV))) throw new Refused('integrity', 'a frame header cut short');
        const head = input.take(final ? 4 + 4 + IV + 4 : 4 + IV);
        const found = head.readUInt32BE(final ? 4 : 0);
        if (found !== seq) throw new Refused('integrity', `frame ${found} where frame ${seq} belongs`);
        const iv = head.subarray(final ? 8 : 4, (final ? 8 : 4) + IV);
        const length = final ? head.readUInt32BE(8 + IV) : header.frameLength;
        if (length > header.frameLength) throw new Refused('integrity', `a final frame of ${length} bytes with frames of ${header.frameLength}`);
        const decipher = getDecipher(iv);
        decipher.setAAD(frameAad(header.messageId, final, seq, length));
        const clear: Buffer[] = [];
        for (let left = length; left > 0; ) {
          if (!(await input.fill(1))) throw new Refused('integrity', `frame ${seq} cut short`);
          const piece = input.takeUpTo(left);
          left -= piece.length;
          clear.push(decipher.update(piece));
        }
        if (!(await input.fill(TAG))) throw new Refused('integrity', `frame ${seq} without its tag`);
        decipher.setAuthTag(input.take(TAG));
        clear.push(decipher.final());
        // The SDK ignores what follows the final frame; this refuses it before releasing the frame.
        if (final && !(await input.ended())) throw new Refused('trailing', `bytes after its end (${input.buffered} or more)`);
        for (const c of clear) if (c.length > 0) yield c;
        if (final) return;
      }
    } finally {
      dispose();
    }
  } catch (error) {
    throw error instanceof Refused || input.failed(error) ? error : new Refused('integrity', (error as Error)?.message ?? String(error), { cause: error });
  } finally {
    await input.close();
  }
}

async function readHeader(input: Input): Promise<NonNullable<ReturnType<typeof parseHeader>>> {
  for (;;) {
    const header = parseHeader(input.joined());
    if (header !== undefined) {
      input.take(header.length);
      return header;
    }
    if (!(await input.more())) throw new Refused('integrity', 'the message ends inside its header');
  }
}

/** The source's bytes as a queue of views: nothing is copied unless a field straddles two chunks. */
class Input {
  readonly #it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  #chunks: Buffer[] = [];
  /** Bytes buffered in #chunks. */
  #size = 0;
  #done = false;
  #sourceError: unknown = undefined;
  #hasSourceError = false;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.#it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  /** Pulls one more chunk; false once the source has ended. */
  async more(): Promise<boolean> {
    if (this.#done) return false;
    let next: IteratorResult<Uint8Array>;
    try {
      next = await this.#it.next();
    } catch (error) {
      this.#done = true;
      this.#hasSourceError = true;
      this.#sourceError = error;
      throw error;
    }
    if (next.done === true) {
      this.#done = true;
      return false;
    }
    const v = next.value;
    const b = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    if (b.length > 0) {
      this.#chunks.push(b);
      this.#size += b.length;
    }
    return true;
  }

  /** Whether `error` is the source's own failure (passed on as it is). */
  failed(error: unknown): boolean {
    return this.#hasSourceError && error === this.#sourceError;
  }

  /** At least n bytes buffered, or false if the source ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.#size < n) if (!(await this.more())) return false;
    return true;
  }

  /** Everything buffered, as one buffer (merged once if it came in several chunks). */
  joined(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  /** The next 4 bytes as a big-endian number, not consumed; fill(4) first. */
  u32(): number {
    const first = this.#chunks[0]!;
    return first.length >= 4 ? first.readUInt32BE(0) : this.joined().readUInt32BE(0);
  }

  /** Exactly n buffered bytes: a view when they lie in one chunk. */
  take(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return this.#consume(n);
    const parts: Buffer[] = [];
    for (let left = n; left > 0; ) {
      const p = this.takeUpTo(left);
      parts.push(p);
      left -= p.length;
    }
    return Buffer.concat(parts, n);
  }

  /** Up to n bytes from the first buffered chunk, as a view. */
  takeUpTo(n: number): Buffer {
    return this.#consume(Math.min(n, this.#chunks[0]!.length));
  }

  /** True when nothing is buffered and the source has ended. */
  async ended(): Promise<boolean> {
    while (this.#size === 0) if (!(await this.more())) return true;
    return false;
  }

  /** Bytes buffered now (only to say how much follows a message's end, without reading on). */
  get buffered(): number {
    return this.#size;
  }

  async close(): Promise<void> {
    this.#chunks = [];
    if (!this.#done) {
      this.#done = true;
      await this.#it.return?.();
    }
  }

  #consume(n: number): Buffer {
    const first = this.#chunks[0]!;
    this.#size -= n;
    if (n === first.length) {
      this.#chunks.shift();
      return first;
    }
    this.#chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }
}
