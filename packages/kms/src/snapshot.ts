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

const { encrypt, decrypt, encryptStream, decryptUnsignedMessageStream } = buildClient(
  CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
);

/**
 * Key-committing AES-256-GCM with HKDF-SHA512 and no signature: the only reader and
 * writer hold the same symmetric tenant key, so an ECDSA signature would prove nothing
 * more, and without it the streaming decryptor can release authenticated frames early.
 */
export const SNAPSHOT_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

/**
 * Frame size chosen by measurement (bench/frame.bench.ts): throughput levels off at
 * 64 KiB, larger frames only add memory per stream. See README.md for the numbers.
 */
export const SNAPSHOT_FRAME_LENGTH = 64 * 1024;

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
      keyrings.set(key, ring);
    }
    return ring;
  });
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
  try {
    const { plaintext, messageHeader } = await decrypt(keyring(key), message);
    try {
      checkContext(messageHeader.encryptionContext, ctx);
    } catch (error) {
      plaintext.fill(0);
      throw error;
    }
    return plaintext;
  } catch (error) {
    throw tampered(error, ctx);
  }
}

/** Streams a large snapshot through encryption, one frame in memory at a time. */
export function encryptSnapshotStream(key: TenantKey, ctx: SnapshotContext, source: Readable | AsyncIterable<Uint8Array>): Readable {
  checkTenant(key, ctx);
  const cipher = encryptStream(keyring(key), {
    suiteId: SNAPSHOT_SUITE,
    encryptionContext: snapshotContext(ctx),
    frameLength: SNAPSHOT_FRAME_LENGTH,
  });
  return through(source, cipher, (error) => error);
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
  return through(source, decipher, (error) => tampered(error, ctx));
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
