/**
 * S3Bucket against LocalStack S3: the ranged reads and the ETag listing the snapshot store relies
 * on. Ranges follow RFC 9110 as S3 documents them for GetObject (Amazon S3 API Reference,
 * "GetObject", Range: "Downloads the specified byte range of an object"; a range that starts
 * past the end is 416 InvalidRange). ListObjectsV2 gives each object's ETag (Amazon S3 API
 * Reference, "ListObjectsV2", Contents.ETag), the same value GetObject answers.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { localstackCredentials } from '@ekm/kms/testing';
import { createS3Client, S3Bucket } from '../src/bucket.ts';

let bucket: S3Bucket;
const name = `bucket-test-${randomUUID().slice(0, 8)}`;
const options = { endpoint: inject('localstackEndpoint'), region: 'us-east-1', credentials: localstackCredentials('111122223333') };
const all = async (s: AsyncIterable<Uint8Array> | undefined) => {
  if (s === undefined) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const c of s) chunks.push(c);
  return Buffer.concat(chunks).toString();
};

beforeAll(async () => {
  bucket = await S3Bucket.open({ ...options, bucket: name });
});
// The bucket goes too: LocalStack keeps each bucket's storage on disk until it is deleted.
afterAll(async () => {
  if (bucket === undefined) return;
  await bucket.delete(await bucket.list(''));
  await createS3Client(options).send(new DeleteBucketCommand({ Bucket: name }));
});

describe('S3Bucket', () => {
  it('reads a byte range, both ends included; a range past the end is short, one starting past it is no object', async () => {
    await bucket.put('r/object', '0123456789');
    expect(await all(await bucket.getStream('r/object', { start: 2, end: 5 }))).toBe('2345');
    expect(await all(await bucket.getStream('r/object', { start: 7, end: 20 }))).toBe('789');
    expect(await bucket.getStream('r/object', { start: 10, end: 12 })).toBeUndefined();
    expect(await all(await bucket.getStream('r/object'))).toBe('0123456789');
    expect(await bucket.getStream('r/missing', { start: 0, end: 1 })).toBeUndefined();
  });

  it('lists keys with the ETag a read answers, and a rewrite changes it', async () => {
    await bucket.put('e/a', 'first');
    await bucket.put('e/b', 'second');
    const listed = await bucket.entries('e/');
    expect(listed.map((o) => o.key)).toEqual(['e/a', 'e/b']);
    expect(listed[0]!.etag).toBe((await bucket.get('e/a'))!.etag);
    await bucket.put('e/a', 'rewritten');
    const again = await bucket.entries('e/');
    expect(again[0]!.etag).not.toBe(listed[0]!.etag);
    expect(again[0]!.etag).toBe((await bucket.get('e/a'))!.etag);
    expect(again[1]!.etag).toBe(listed[1]!.etag);
  });
});
