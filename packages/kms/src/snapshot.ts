import type { KeyObject } from 'node:crypto';
import { pipeline, Readable, type Duplex } from 'node:stream';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  type EncryptionContext as EsdkContext,
} from '@aws-crypto/client-node';
import { failure } from '@ekm/domain';
import { classify, KmsError } from './classify.ts';
import type { TenantKey } from './tenant-key.ts';
import { noteKeyMaterial, observingKeyMaterial } from './observe.ts';

const { encrypt, encryptStream, decryptUnsignedMessageStream } = buildClient(
  CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
);

/**
 * Key-committing AES-256-GCM with HKDF-SHA512 and no signature: the only reader and
 * writer hold the same symmetric tenant key, so an ECDSA signature would prove nothing
 * more, and without it the streaming decryptor can release authenticated frames early.
 */
export const SNAPSHOT_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

/**
 * Frame size chosen by measurement (bench/throughput.ts, bench/frame.bench.ts): the SDK's
 * per-frame cost dominates below 64 KiB, and its decrypt still gains up to 256 KiB, which
 * brings the round trip to ~0.9x raw AES-GCM; larger frames only add memory per stream and
 * the bytes released before a frame is authenticated. See README.md for the numbers.
 */
export const SNAPSHOT_FRAME_LENGTH = 256 * 1024;

export const SNAPSHOT_PURPOSE = 'snapshot-data';
const KEY_NAMESPACE = 'ekm-tenant-key';

export interface SnapshotContext {
  readonly tenant: string;
  readonly snapshot: string;
}

/** The encryption context bound into every snapshot message (EKM-20). */
export function snapshotContext(ctx: SnapshotContext): Record<string, string> {
  return { tenant: ctx.tenant, snapshot: ctx.snapshot, purpose: SNAPSHOT_PURPOSE };
}

// One keyring per unwrapped TenantKey for its workflow; gone with the TenantKey.
const keyrings = new WeakMap<TenantKey, RawAesKeyringNode>();

function keyring(key: TenantKey): RawAesKeyringNode {
  // reveal() refuses a dropped key even when a keyring is cached.
  return key.reveal((bytes) => {
    let ring = keyrings.get(key);
    if (ring === undefined) {
      ring = new RawAesKeyringNode({
        keyNamespace: KEY_NAMESPACE,
        // The key name is authenticated with the data key: another tenant's key cannot match.
        keyName: `tenant/${key.tenant}/v${key.version}`,
        unencryptedMasterKey: bytes,
        wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
      });
      if (observingKeyMaterial()) watchDataKeys(ring);
      keyrings.set(key, ring);
    }
    return ring;
  });
}

/** For the secret scan only: the data key of every message this keyring encrypts. */
function watchDataKeys(ring: RawAesKeyringNode): void {
  const onEncrypt = ring._onEncrypt;
  ring._onEncrypt = async function (this: RawAesKeyringNode, material) {
    const done = await onEncrypt.call(this, material);
    // Node's Encryption SDK keeps the data key in a KeyObject; a secret KeyObject exports its bytes.
    const dataKey = done.getUnencryptedDataKey() as Uint8Array | KeyObject;
    if (dataKey instanceof Uint8Array) {
      noteKeyMaterial(dataKey, 'data-key');
    } else {
      const exported = new Uint8Array(dataKey.export());
      noteKeyMaterial(exported, 'data-key');
      exported.fill(0);
    }
    return done;
  };
}

function checkTenant(key: TenantKey, ctx: SnapshotContext): void {
  if (key.tenant !== ctx.tenant) {
    throw new KmsError(failure('DataTampered', `The tenant key of ${key.tenant} cannot be used for tenant ${ctx.tenant}.`));
  }
}

/** The SDK does not compare the stored context with the expected one; this does, exactly. */
function checkContext(found: EsdkContext, ctx: SnapshotContext): void {
  const expected = snapshotContext(ctx);
  const keys = Object.keys(found);
  const same = keys.length === Object.keys(expected).length && keys.every((k) => found[k] === expected[k]);
  if (!same) {
    throw new KmsError(
      failure('DataTampered', `Snapshot ${ctx.snapshot} of tenant ${ctx.tenant} carries the encryption context of other data.`),
    );
  }
}

const U32_MAX = 0xffffffff;
// Message format v2 with SNAPSHOT_SUITE: 12-byte IVs, 16-byte tags, 32 bytes of commitment in the header.
const IV = 12;
const TAG = 16;
const COMMITMENT = 32;

/**
 * Follows a framed message's structure as its bytes go by, to find where it ends. The
 * Encryption SDK authenticates every byte up to the final frame and ignores whatever
 * follows it, so bytes appended to a blob would pass unnoticed; this refuses them.
 * Anything it cannot follow is left to the SDK, which refuses it anyway.
 */
class MessageEnd {
  readonly #ctx: SnapshotContext;
  #held: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  /** Absolute offset of #held[0]. */
  #heldAt = 0;
  #seen = 0;
  #frameLength: number | undefined;
  /** Absolute offset of the next frame once the header is read. */
  #next = 0;
  #end: number | undefined;

  constructor(ctx: SnapshotContext) {
    this.#ctx = ctx;
  }

  push(chunk: Uint8Array): void {
    this.#seen += chunk.byteLength;
    if (this.#end === undefined) {
      // A view, not a copy: the bytes are only read, and a one-shot message may be large.
      const view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.#held = this.#held.length === 0 ? view : Buffer.concat([this.#held, view]);
      this.#walk();
    }
    if (this.#end !== undefined && this.#seen > this.#end) {
      throw new KmsError(failure('DataTampered', `Snapshot ${this.#ctx.snapshot} of tenant ${this.#ctx.tenant} has ${this.#seen - this.#end} bytes after its end.`));
    }
  }

  #walk(): void {
    if (this.#frameLength === undefined) {
      const header = headerLength(this.#held);
      if (header === undefined) return;
      this.#frameLength = header.frameLength;
      this.#next = header.length;
    }
    for (;;) {
      const at = this.#next - this.#heldAt;
      if (at > this.#held.length) break;
      // Regular frames need only their first 4 bytes read; drop what lies before them.
      this.#held = this.#held.subarray(at);
      this.#heldAt = this.#next;
      if (this.#held.length < 4) break;
      if (this.#held.readUInt32BE(0) !== U32_MAX) {
        this.#next += 4 + IV + this.#frameLength + TAG;
        continue;
      }
      if (this.#held.length < 8 + IV + 4) break;
      this.#end = this.#next + 8 + IV + 4 + this.#held.readUInt32BE(8 + IV) + TAG;
      this.#held = Buffer.alloc(0);
      break;
    }
  }
}

/** The length of a v2 message header with its authentication tag, once enough bytes are there. */
function headerLength(b: Buffer): { length: number; frameLength: number } | undefined {
  let at = 1 + 2 + 32;
  const u16 = (): number | undefined => {
    if (b.length < at + 2) return undefined;
    const v = b.readUInt16BE(at);
    at += 2;
    return v;
  };
  const skip = (n: number | undefined): boolean => {
    if (n === undefined) return false;
    at += n;
    return b.length >= at;
  };
  if (!skip(u16())) return undefined;
  const keys = u16();
  if (keys === undefined) return undefined;
  for (let i = 0; i < keys * 3; i++) if (!skip(u16())) return undefined;
  if (b.length < at + 1 + 4) return undefined;
  const frameLength = b.readUInt32BE(at + 1);
  at += 1 + 4 + COMMITMENT + TAG;
  return { length: at, frameLength };
}

function tampered(error: unknown, ctx: SnapshotContext): KmsError {
  return error instanceof KmsError ? error : new KmsError(classify(error, { snapshot: ctx }), { cause: error });
}

export async function encryptSnapshot(key: TenantKey, plaintext: Uint8Array, ctx: SnapshotContext): Promise<Uint8Array> {
  checkTenant(key, ctx);
  const { result } = await encrypt(keyring(key), plaintext, {
    suiteId: SNAPSHOT_SUITE,
    encryptionContext: snapshotContext(ctx),
    frameLength: SNAPSHOT_FRAME_LENGTH,
  });
  return result;
}

/** Refuses (DataTampered) a message that fails authentication, another tenant's key, or another snapshot's context. */
export async function decryptSnapshot(key: TenantKey, message: Uint8Array, ctx: SnapshotContext): Promise<Uint8Array> {
  checkTenant(key, ctx);
  // The SDK's streaming decryptor is ~30 % faster than its one-shot decrypt on a whole
  // message (measured 28 vs 40 ms for 16 MiB), and makes the same checks through the same path.
  const frames: Buffer[] = [];
  try {
    for await (const frame of decryptSnapshotStream(key, ctx, Readable.from([message]))) frames.push(frame as Buffer);
    return Buffer.concat(frames);
  } catch (error) {
    throw tampered(error, ctx);
  } finally {
    for (const f of frames) f.fill(0);
  }
}

/**
 * Streams a large snapshot through encryption, one frame in memory at a time. A source that
 * fails fails the stream with its own error, after the last chunk: what was read before is
 * sealed and released, so store nothing until the stream ends.
 */
export function encryptSnapshotStream(key: TenantKey, ctx: SnapshotContext, source: Readable | AsyncIterable<Uint8Array>): Readable {
  checkTenant(key, ctx);
  const cipher = encryptStream(keyring(key), {
    suiteId: SNAPSHOT_SUITE,
    encryptionContext: snapshotContext(ctx),
    frameLength: SNAPSHOT_FRAME_LENGTH,
  });
  // The SDK pipes its inner streams with readable-stream's pipeline and no callback, which
  // throws, uncaught, when they are torn down early: a failed source ends the message instead.
  let failed: { error: unknown } | undefined;
  async function* guarded(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    } catch (error) {
      failed = { error };
    }
  }
  const sealed = through(guarded(), cipher, (error) => error);
  async function* read(): AsyncGenerator<Buffer> {
    for await (const chunk of sealed) yield chunk as Buffer;
    if (failed !== undefined) throw failed.error;
  }
  return Readable.from(read(), { objectMode: false });
}

/**
 * Streams decryption. The context is checked on the header, before any frame is
 * released; any failure destroys the output with a KmsError (DataTampered). Frames
 * before a tampered frame may already have been read: commit nothing until the stream ends.
 */
export function decryptSnapshotStream(key: TenantKey, ctx: SnapshotContext, source: Readable | AsyncIterable<Uint8Array>): Readable {
  checkTenant(key, ctx);
  const decipher: Duplex = decryptUnsignedMessageStream(keyring(key));
  decipher.once('MessageHeader', (header: { encryptionContext: EsdkContext }) => {
    try {
      checkContext(header.encryptionContext, ctx);
    } catch (error) {
      decipher.destroy(error as Error);
    }
  });
  return through(ended(source, ctx), decipher, (error) => tampered(error, ctx));
}

/** The source as it is, failing at the first byte after the message's end. */
async function* ended(source: Readable | AsyncIterable<Uint8Array>, ctx: SnapshotContext): AsyncGenerator<Uint8Array> {
  const end = new MessageEnd(ctx);
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    end.push(bytes);
    yield bytes;
  }
}

/** Pipes `source` into `transform` and reads it out, so every failure surfaces once, as `mapError` says. */
function through(source: Readable | AsyncIterable<Uint8Array>, transform: Duplex, mapError: (error: unknown) => unknown): Readable {
  const input = source instanceof Readable ? source : Readable.from(source);
  // The callback form wires errors and cleanup; the error itself is read from the iterator below.
  pipeline(input, transform, () => {});
  async function* read(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of transform) yield chunk as Buffer;
    } catch (error) {
      throw mapError(error);
    }
  }
  return Readable.from(read(), { objectMode: false });
}
