import type { KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AlgorithmSuiteIdentifier,
  NodeDefaultCryptographicMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { failure } from '@ekm/domain';
import { classify } from './classify.ts';
import { ProviderFailure } from './failure-error.ts';
import type { TenantKey } from './tenant-key.ts';
import { noteKeyMaterial, observingKeyMaterial } from './observe.ts';
import { open, Refused } from './pipeline/open.ts';
import { Sealer } from './pipeline/seal.ts';

/*
 * Messages are the Encryption SDK's own (format v2, framed, key-committing), written and read
 * with the SDK's materials manager, keyring and key derivation (commitment included), all from
 * @aws-crypto/client-node's exports; the frames are sealed and opened here with node:crypto
 * (src/pipeline/). The SDK's own encrypt/decrypt ran at ~0.45x / ~0.35x raw AES-GCM, ~half of it
 * stream plumbing, copies and garbage; this runs at ~0.85x / ~1x (bench/pipeline.ts, paired
 * rounds). Messages written here decrypt with the SDK's stock `decrypt`, and the SDK's stock
 * `encrypt` output decrypts here (snapshot.compat.test.ts).
 */

/**
 * Key-committing AES-256-GCM with HKDF-SHA512 and no signature: the only reader and
 * writer hold the same symmetric tenant key, so an ECDSA signature would prove nothing
 * more, and without it the streaming decryptor can release authenticated frames early.
 */
export const SNAPSHOT_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

/**
 * Frame size chosen by measurement (bench/throughput.ts, bench/frame.bench.ts): the per-frame
 * cost (a cipher per frame, ~50 us) dominates below 64 KiB; larger frames only add memory per
 * stream and the bytes released before a frame is authenticated. See README.md for the numbers.
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

interface Materials {
  readonly ring: RawAesKeyringNode;
  readonly cmm: NodeDefaultCryptographicMaterialsManager;
}
// One keyring (and its materials manager) per unwrapped TenantKey for its workflow; gone with the TenantKey.
const managers = new WeakMap<TenantKey, Materials>();

function materials(key: TenantKey): Materials {
  // reveal() refuses a dropped key even when a keyring is cached.
  return key.reveal((bytes) => {
    let m = managers.get(key);
    if (m === undefined) {
      const ring = new RawAesKeyringNode({
        keyNamespace: KEY_NAMESPACE,
        // The key name is authenticated with the data key: another tenant's key cannot match.
        keyName: `tenant/${key.tenant}/v${key.version}`,
        unencryptedMasterKey: bytes,
        wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
      });
      if (observingKeyMaterial()) watchDataKeys(ring);
      m = { ring, cmm: new NodeDefaultCryptographicMaterialsManager(ring) };
      managers.set(key, m);
    }
    return m;
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
    throw new ProviderFailure(failure('DataTampered', `The tenant key of ${key.tenant} cannot be used for tenant ${ctx.tenant}.`));
  }
}

/** The sentence for a refused message; failures that are already domain failures (a dropped key) keep theirs. */
function tampered(error: unknown, ctx: SnapshotContext): ProviderFailure {
  if (error instanceof ProviderFailure) return error;
  const where = `Snapshot ${ctx.snapshot} of tenant ${ctx.tenant}`;
  if (error instanceof Refused && error.reason === 'context') return new ProviderFailure(failure('DataTampered', `${where} carries the encryption context of other data.`), { cause: error });
  if (error instanceof Refused && error.reason === 'trailing') return new ProviderFailure(failure('DataTampered', `${where} has ${error.message}.`), { cause: error });
  return new ProviderFailure(classify(error, { snapshot: ctx }), { cause: error });
}

function sealer(key: TenantKey, ctx: SnapshotContext): Promise<Sealer> {
  checkTenant(key, ctx);
  return Sealer.start(materials(key).ring, SNAPSHOT_SUITE, snapshotContext(ctx), SNAPSHOT_FRAME_LENGTH);
}

function opened(key: TenantKey, ctx: SnapshotContext, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  checkTenant(key, ctx);
  return open(source, { cmm: materials(key).cmm, suiteId: SNAPSHOT_SUITE, context: snapshotContext(ctx) });
}

export async function encryptSnapshot(key: TenantKey, plaintext: Uint8Array, ctx: SnapshotContext): Promise<Uint8Array> {
  const s = await sealer(key, ctx);
  try {
    return s.seal(plaintext);
  } finally {
    s.dispose();
  }
}

/**
 * Refuses (DataTampered) a message that fails authentication, another tenant's key, or another
 * snapshot's context. The frames joined into the result are not zeroed: they hold the bytes the
 * result holds (only key material is zeroed, EKM-19), and zeroing them cost ~10 % of decrypt.
 */
export async function decryptSnapshot(key: TenantKey, message: Uint8Array, ctx: SnapshotContext): Promise<Uint8Array> {
  const frames: Buffer[] = [];
  try {
    for await (const frame of opened(key, ctx, [message])) frames.push(frame);
    return frames.length === 1 ? frames[0]! : Buffer.concat(frames);
  } catch (error) {
    for (const f of frames) f.fill(0);
    throw tampered(error, ctx);
  }
}

/**
 * Streams a large snapshot through encryption, one frame in memory at a time. A source that
 * fails fails the stream with its own error, and the message is left without its final frame,
 * so it can never be read as a complete (shorter) snapshot: store nothing until the stream ends.
 */
export function encryptSnapshotStream(key: TenantKey, ctx: SnapshotContext, source: Readable | AsyncIterable<Uint8Array>): Readable {
  checkTenant(key, ctx);
  async function* sealed(): AsyncGenerator<Buffer> {
    const s = await sealer(key, ctx);
    try {
      yield s.header;
      // Plaintext waits until a frame is full: only then is it known to be a regular frame.
      let pieces: Uint8Array[] = [];
      let held = 0;
      for await (const chunk of source) {
        let bytes: Uint8Array = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
        while (held + bytes.length >= s.frameLength) {
          const take = s.frameLength - held;
          pieces.push(bytes.subarray(0, take));
          bytes = bytes.subarray(take);
          const frame = s.frame(pieces, s.frameLength, false);
          pieces = [];
          held = 0;
          yield frame;
        }
        if (bytes.length > 0) {
          pieces.push(bytes);
          held += bytes.length;
        }
      }
      yield s.frame(pieces, held, true);
    } finally {
      s.dispose();
    }
  }
  return Readable.from(sealed(), { objectMode: false });
}

/**
 * Streams decryption. The context is checked on the header, before any frame is
 * released; any failure destroys the output with a ProviderFailure (DataTampered). Frames
 * before a tampered frame may already have been read: commit nothing until the stream ends.
 */
export function decryptSnapshotStream(key: TenantKey, ctx: SnapshotContext, source: Readable | AsyncIterable<Uint8Array>): Readable {
  const frames = opened(key, ctx, source as AsyncIterable<Uint8Array>);
  async function* read(): AsyncGenerator<Buffer> {
    try {
      yield* frames;
    } catch (error) {
      throw tampered(error, ctx);
    }
  }
  return Readable.from(read(), { objectMode: false });
}
