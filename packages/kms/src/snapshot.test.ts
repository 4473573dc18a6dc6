import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { TenantKey } from './tenant-key.ts';

const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
import {
  decryptSnapshot,
  decryptSnapshotStream,
  encryptSnapshot,
  encryptSnapshotStream,
  SNAPSHOT_FRAME_LENGTH,
  SNAPSHOT_SUITE,
} from './snapshot.ts';
import { codeOf } from '../testing/index.ts';

const key = (tenant = 't-1', bytes = randomBytes(32)) => new TenantKey(tenant, 1, new Uint8Array(bytes), KEY_ARN);
const ctx = { tenant: 't-1', snapshot: 's-1' };


async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('snapshot encryption with the AWS Encryption SDK', () => {
  it('round-trips with a committing suite and frames of the chosen size', async () => {
    const k = key();
    const data = randomBytes(3 * SNAPSHOT_FRAME_LENGTH + 17);
    const message = await encryptSnapshot(k, data, ctx);
    // Message format v2 header: version 0x02, then the suite id.
    expect(message[0]).toBe(2);
    expect(Buffer.from(message).readUInt16BE(1)).toBe(SNAPSHOT_SUITE);
    expect(Buffer.from(message).includes(data.subarray(0, 32))).toBe(false);
    expect(Buffer.from(await decryptSnapshot(k, message, ctx)).equals(data)).toBe(true);
  });

  it('[EKM-20] a flipped byte anywhere in a snapshot is refused as DataTampered', async () => {
    const k = key();
    const message = await encryptSnapshot(k, randomBytes(2 * SNAPSHOT_FRAME_LENGTH), ctx);
    for (const at of [5, 60, Math.floor(message.length / 2), message.length - 1]) {
      const bad = Uint8Array.from(message);
      bad[at] = bad[at]! ^ 0x01;
      expect(await codeOf(() => decryptSnapshot(k, bad, ctx))).toBe('DataTampered');
    }
  });

  it("[EKM-20] t-1's snapshot cannot be decrypted with t-2's tenant key, nor as t-2's", async () => {
    const message = await encryptSnapshot(key('t-1'), randomBytes(100), ctx);
    expect(await codeOf(() => decryptSnapshot(key('t-2'), message, { tenant: 't-2', snapshot: 's-1' }))).toBe('DataTampered');
    expect(await codeOf(() => decryptSnapshot(key('t-1'), message, { tenant: 't-2', snapshot: 's-1' }))).toBe('DataTampered');
  });

  it('[EKM-20] the encryption context is compared on decrypt: another snapshot id is refused', async () => {
    const k = key();
    const message = await encryptSnapshot(k, randomBytes(100), ctx);
    expect(await codeOf(() => decryptSnapshot(k, message, { tenant: 't-1', snapshot: 's-2' }))).toBe('DataTampered');
  });

  it('[EKM-19] a dropped tenant key cannot encrypt or decrypt any more', async () => {
    const k = key();
    const message = await encryptSnapshot(k, randomBytes(100), ctx);
    k.drop();
    expect(await codeOf(() => encryptSnapshot(k, randomBytes(1), ctx))).toBe('KeyAccessDenied');
    expect(await codeOf(() => decryptSnapshot(k, message, ctx))).toBe('KeyAccessDenied');
  });

  it('streams: a large snapshot round-trips and is interchangeable with the one-shot API', async () => {
    const k = key();
    const data = randomBytes(5 * SNAPSHOT_FRAME_LENGTH + 3);
    const parts = Array.from({ length: 11 }, (_, i) => data.subarray(Math.floor((i * data.length) / 11), Math.floor(((i + 1) * data.length) / 11)));
    const message = await collect(encryptSnapshotStream(k, ctx, Readable.from(parts)));
    expect((await collect(decryptSnapshotStream(k, ctx, Readable.from([message])))).equals(data)).toBe(true);
    expect(Buffer.from(await decryptSnapshot(k, message, ctx)).equals(data)).toBe(true);
  });

  it('streams: a source that fails mid-message fails the stream with its own error, once, and nothing escapes', async () => {
    const escaped: unknown[] = [];
    const note = (e: unknown) => void escaped.push(e);
    process.on('uncaughtException', note);
    try {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield randomBytes(SNAPSHOT_FRAME_LENGTH + 5);
        throw new Error('source gone');
      }
      await expect(collect(encryptSnapshotStream(key(), ctx, failing()))).rejects.toThrow('source gone');
      // The SDK's streams report their teardown a tick or two later.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(escaped).toEqual([]);
    } finally {
      process.off('uncaughtException', note);
    }
  });

  it('[EKM-20] streams: wrong context and a flipped byte both fail the stream with DataTampered', async () => {
    const k = key();
    const message = await collect(encryptSnapshotStream(k, ctx, Readable.from([randomBytes(3 * SNAPSHOT_FRAME_LENGTH)])));
    const other = { tenant: 't-1', snapshot: 's-9' };
    await expect(collect(decryptSnapshotStream(k, other, Readable.from([message])))).rejects.toMatchObject({ name: 'ProviderFailure', code: 'DataTampered' });
    const bad = Buffer.from(message);
    bad[bad.length - 40] = bad[bad.length - 40]! ^ 0x80;
    await expect(collect(decryptSnapshotStream(k, ctx, Readable.from([bad])))).rejects.toMatchObject({ code: 'DataTampered' });
  });
});
