import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-node';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptSnapshot, decryptSnapshotStream, encryptSnapshot, encryptSnapshotStream, SNAPSHOT_FRAME_LENGTH, SNAPSHOT_SUITE, snapshotContext } from './snapshot.ts';
import { TenantKey } from './tenant-key.ts';
import { codeOf } from '../testing/index.ts';

/*
 * The pipeline frames messages itself (src/pipeline/) with the SDK's materials; these prove the
 * messages are the SDK's own, both ways, and that the SDK's stock client is the reference.
 */
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ctx = { tenant: 't-1', snapshot: 's-1' };
const bytes = randomBytes(32);
const key = () => new TenantKey(ctx.tenant, 1, Uint8Array.from(bytes), KEY_ARN);
const sdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
// The keyring the pipeline builds for this tenant key: same namespace, name and wrapping suite.
const ring = new RawAesKeyringNode({
  keyNamespace: 'ekm-tenant-key',
  keyName: `tenant/${ctx.tenant}/v1`,
  unencryptedMasterKey: Uint8Array.from(bytes),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const F = SNAPSHOT_FRAME_LENGTH;
const SIZES = [0, 1, F - 1, F, F + 1, 3 * F, 3 * F + 17];

async function collect(stream: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}
const parts = (b: Uint8Array, n: number) => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));
/** Offsets of a message's frames: the header is one frame's worth before the body's regular frames. */
const frameAt = (message: Uint8Array, plaintextLength: number, i: number) => {
  const full = Math.floor(plaintextLength / F);
  const body = message.length - (full * (4 + 12 + F + 16) + 4 + 4 + 12 + 4 + (plaintextLength - full * F) + 16);
  return body + i * (4 + 12 + F + 16);
};

describe('snapshot messages are the Encryption SDK format, both ways', () => {
  it.each(SIZES)('a %i-byte snapshot written by the pipeline decrypts with the SDK stock decrypt, same suite, frames and context', async (n) => {
    const data = randomBytes(n);
    for (const message of [await encryptSnapshot(key(), data, ctx), await collect(encryptSnapshotStream(key(), ctx, Readable.from(parts(data, 10_000))))]) {
      const { plaintext, messageHeader } = await sdk.decrypt(ring, message);
      expect(Buffer.from(plaintext).equals(data)).toBe(true);
      expect(messageHeader.suiteId).toBe(SNAPSHOT_SUITE);
      expect(messageHeader.frameLength).toBe(F);
      expect({ ...messageHeader.encryptionContext }).toEqual(snapshotContext(ctx));
    }
  });

  it.each(SIZES)('a %i-byte snapshot written by the SDK stock encrypt decrypts with the pipeline, one-shot and streaming', async (n) => {
    const data = randomBytes(n);
    const options = { suiteId: SNAPSHOT_SUITE, encryptionContext: snapshotContext(ctx) };
    // The SDK's default 4 KiB frames as well as the pipeline's own.
    for (const frameLength of [F, 4096]) {
      const { result } = await sdk.encrypt(ring, data, { ...options, frameLength });
      expect(Buffer.from(await decryptSnapshot(key(), result, ctx)).equals(data)).toBe(true);
      expect((await collect(decryptSnapshotStream(key(), ctx, Readable.from(parts(result, 7_777))))).equals(data)).toBe(true);
    }
  });

  it('the SDK stock encrypt under another snapshot context, or with a signing suite, is refused with DataTampered', async () => {
    const other = (await sdk.encrypt(ring, randomBytes(100), { suiteId: SNAPSHOT_SUITE, encryptionContext: snapshotContext({ ...ctx, snapshot: 's-2' }) })).result;
    expect(await codeOf(() => decryptSnapshot(key(), other, ctx))).toBe('DataTampered');
    // Refused on the header's context itself, before the keyring (whose AAD would also differ) is asked.
    await expect(decryptSnapshot(key(), other, ctx)).rejects.toThrow('Snapshot s-1 of tenant t-1 carries the encryption context of other data.');
    // A context with one key more is another context too.
    const more = (await sdk.encrypt(ring, randomBytes(100), { suiteId: SNAPSHOT_SUITE, encryptionContext: { ...snapshotContext(ctx), extra: 'x' } })).result;
    expect(await codeOf(() => decryptSnapshot(key(), more, ctx))).toBe('DataTampered');
    const signed = (await sdk.encrypt(ring, randomBytes(100), { suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, encryptionContext: snapshotContext(ctx) })).result;
    expect(await codeOf(() => decryptSnapshot(key(), signed, ctx))).toBe('DataTampered');
  });

  it('[EKM-20] frames swapped, dropped or repeated are refused with DataTampered, and the SDK refuses them too', async () => {
    const n = 4 * F + 5;
    const message = Buffer.from(await encryptSnapshot(key(), randomBytes(n), ctx));
    const size = 4 + 12 + F + 16;
    const frame = (i: number) => message.subarray(frameAt(message, n, i), frameAt(message, n, i) + size);
    const head = message.subarray(0, frameAt(message, n, 0));
    const tail = message.subarray(frameAt(message, n, 4));
    const swapped = Buffer.concat([head, frame(1), frame(0), frame(2), frame(3), tail]);
    const dropped = Buffer.concat([head, frame(0), frame(2), frame(3), tail]);
    const repeated = Buffer.concat([head, frame(0), frame(1), frame(1), frame(2), frame(3), tail]);
    const noFinal = Buffer.concat([head, frame(0), frame(1), frame(2), frame(3)]);
    for (const bad of [swapped, dropped, repeated, noFinal]) {
      expect(await codeOf(() => decryptSnapshot(key(), bad, ctx))).toBe('DataTampered');
      await expect(collect(decryptSnapshotStream(key(), ctx, Readable.from([bad])))).rejects.toMatchObject({ code: 'DataTampered' });
      await expect(sdk.decrypt(ring, bad)).rejects.toThrow();
    }
    // The pieces are right: put back in order, they decrypt.
    expect((await decryptSnapshot(key(), Buffer.concat([head, frame(0), frame(1), frame(2), frame(3), tail]), ctx)).length).toBe(n);
  });

  it('a frame from another message of the same key, in the same place, is refused with DataTampered', async () => {
    const n = 2 * F + 1;
    const a = Buffer.from(await encryptSnapshot(key(), randomBytes(n), ctx));
    const b = Buffer.from(await encryptSnapshot(key(), randomBytes(n), ctx));
    const at = frameAt(a, n, 1);
    const mixed = Buffer.concat([a.subarray(0, at), b.subarray(at, at + 4 + 12 + F + 16), a.subarray(at + 4 + 12 + F + 16)]);
    expect(await codeOf(() => decryptSnapshot(key(), mixed, ctx))).toBe('DataTampered');
  });

  it('a source that fails mid-stream leaves a message without its final frame, which neither the SDK nor the pipeline accepts', async () => {
    const out: Buffer[] = [];
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield randomBytes(2 * F + 5);
      throw new Error('source gone');
    }
    await expect(
      (async () => {
        for await (const c of encryptSnapshotStream(key(), ctx, failing())) out.push(c as Buffer);
      })(),
    ).rejects.toThrow('source gone');
    const partial = Buffer.concat(out);
    expect(partial.length).toBeGreaterThan(2 * F);
    await expect(sdk.decrypt(ring, partial)).rejects.toThrow();
    expect(await codeOf(() => decryptSnapshot(key(), partial, ctx))).toBe('DataTampered');
  });
});

/** 1,000 cases in CI (CI set), fewer locally; FC_NUM_RUNS overrides both. */
const params = { numRuns: Number(process.env['FC_NUM_RUNS'] ?? (process.env['CI'] ? 1000 : 200)) };

describe('messages the SDK stock encrypt wrote, tampered, are refused as the pipeline\'s own are (property)', () => {
  // 4 KiB frames: many frames, final frame edges, in a small message.
  const plaintexts = [randomBytes(0), randomBytes(100), randomBytes(3 * 4096), randomBytes(5 * 4096 + 33)];
  const messages: Buffer[] = [];
  beforeAll(async () => {
    for (const p of plaintexts) messages.push(Buffer.from((await sdk.encrypt(ring, p, { suiteId: SNAPSHOT_SUITE, encryptionContext: snapshotContext(ctx), frameLength: 4096 })).result));
  });
  const which = fc.nat({ max: plaintexts.length - 1 });
  const refused = async (bad: Uint8Array, cuts: number[] = []) => {
    const at = [...new Set(cuts.map((c) => c % (bad.length + 1)))].sort((a, b) => a - b);
    const chunks = [0, ...at].map((from, i) => bad.subarray(from, [...at, bad.length][i])).filter((c) => c.length > 0);
    const streamed = await collect(decryptSnapshotStream(key(), ctx, Readable.from(chunks))).then(
      () => 'completed',
      (e: { code?: string }) => e.code,
    );
    return [await codeOf(() => decryptSnapshot(key(), bad, ctx)), streamed];
  };

  it('[EKM-20] a flipped bit, a truncation or appended bytes are refused with DataTampered, one-shot and streaming in any chunks', async () => {
    await fc.assert(
      fc.asyncProperty(which, fc.nat(), fc.nat({ max: 7 }), fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 8 }), async (i, at, bit, tail, cuts) => {
        const m = messages[i]!;
        const flipped = Buffer.from(m);
        flipped[at % m.length] = flipped[at % m.length]! ^ (1 << bit);
        expect(await refused(flipped, cuts)).toEqual(['DataTampered', 'DataTampered']);
        expect(await refused(m.subarray(0, at % m.length), cuts)).toEqual(['DataTampered', 'DataTampered']);
        expect(await refused(Buffer.concat([m, tail]), cuts)).toEqual(['DataTampered', 'DataTampered']);
      }),
      params,
    );
  }, 120_000);

  it('untouched, they decrypt exactly in chunks cut anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(which, fc.array(fc.nat(), { maxLength: 12 }), async (i, cuts) => {
        const m = messages[i]!;
        const at = [...new Set(cuts.map((c) => c % (m.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, j) => m.subarray(from, [...at, m.length][j])).filter((c) => c.length > 0);
        expect((await collect(decryptSnapshotStream(key(), ctx, Readable.from(chunks)))).equals(plaintexts[i]!)).toBe(true);
      }),
      params,
    );
  }, 120_000);
});
