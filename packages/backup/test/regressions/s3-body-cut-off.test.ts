/**
 * Regression: a 100,000-user download (its Graph mock in the same process, MSW then wrapping every
 * HTTP socket) lost its S3 connection after 324 KB of the snapshot and was refused as DataTampered:
 * the body ended early, the part's hash could not match. S3Bucket now reads a body cut off
 * mid-way on from where it stopped, with a ranged GetObject of the same version (If-Match its
 * ETag: Amazon S3 API Reference, "GetObject", Range and If-Match), and a read that still fails
 * is said as a storage failure, never as the data altered. The SDK retries requests, not a body
 * already streaming, so this is the bucket's job. aws-sdk-client-mock: an adapter unit test.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3Bucket } from '../../src/bucket.ts';

const s3 = mockClient(S3Client);

/** A body that hands out `text`, then loses its connection (as Node's http does: an "aborted" error). */
function cutOff(text: string): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(Buffer.from(text));
      } else this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    },
  });
}

const body = (text: string) => Readable.from([Buffer.from(text)]);
const all = async (s: AsyncIterable<Uint8Array> | undefined) => {
  const chunks: Buffer[] = [];
  for await (const c of s!) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString();
};

beforeEach(() => {
  s3.reset();
  s3.on(HeadBucketCommand).resolves({});
});

describe('S3Bucket, a body cut off mid-read', () => {
  it('is read on from where it stopped, of the same version', async () => {
    s3.on(GetObjectCommand, { Key: 'k' })
      .resolvesOnce({ Body: cutOff('hello ') as never, ETag: '"v1"' })
      .resolvesOnce({ Body: body('world') as never, ETag: '"v1"' });
    const bucket = await S3Bucket.open({ region: 'us-east-1', bucket: 'b' }, new S3Client({ region: 'us-east-1' }));
    expect(await all(await bucket.getStream('k'))).toBe('hello world');
    const calls = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { Bucket: 'b', Key: 'k' },
      { Bucket: 'b', Key: 'k', Range: 'bytes=6-', IfMatch: '"v1"' },
    ]);
  });

  it('a ranged read resumes within its range', async () => {
    s3.on(GetObjectCommand, { Key: 'k' })
      .resolvesOnce({ Body: cutOff('0123') as never, ETag: '"v1"' })
      .resolvesOnce({ Body: body('4567') as never, ETag: '"v1"' });
    const bucket = await S3Bucket.open({ region: 'us-east-1', bucket: 'b' }, new S3Client({ region: 'us-east-1' }));
    expect(await all(await bucket.getStream('k', { start: 0, end: 7 }))).toBe('01234567');
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Range)).toEqual(['bytes=0-7', 'bytes=4-7']);
  });

  it('gives up after three resumes with the connection error itself', async () => {
    s3.on(GetObjectCommand, { Key: 'k' }).callsFake(() => ({ Body: cutOff('x'), ETag: '"v1"' }));
    const bucket = await S3Bucket.open({ region: 'us-east-1', bucket: 'b' }, new S3Client({ region: 'us-east-1' }));
    const err = await all(await bucket.getStream('k')).catch((e: unknown) => e);
    expect((err as Error).message).toBe('aborted');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(4);
  });
});
