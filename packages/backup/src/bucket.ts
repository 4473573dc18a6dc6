import type { AwsCredentials } from '@ekm/kms';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/** One stored object as read back: its bytes and the ETag a conditional write can name. */
export interface StoredObject {
  readonly body: Uint8Array;
  readonly etag: string;
}

/**
 * Write preconditions, as S3 conditional writes have them: `ifNoneMatch: '*'` creates only,
 * `ifMatch` replaces only the version read.
 */
export interface PutCondition {
  readonly ifNoneMatch?: '*';
  readonly ifMatch?: string;
}

/**
 * What the provider needs from object storage. `put` returns false when its precondition
 * fails, so the journal can refuse a lost race without an exception.
 */
export interface Bucket {
  put(key: string, body: Uint8Array | string, condition?: PutCondition): Promise<boolean>;
  get(key: string): Promise<StoredObject | undefined>;
  /** Every key under `prefix`, in key order. */
  list(prefix: string): Promise<string[]>;
  /**
   * Every key under `prefix` with its ETag, in key order, in one listing (S3's ListObjectsV2 gives both),
   * so an immutable object already read can be known unchanged without reading it again. Without it, `list` and `get`.
   */
  entries?(prefix: string): Promise<ListedObject[]>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Writes an object whose bytes arrive as a stream, holding a bounded amount of it at a time;
   * nothing is visible under `key` until the stream has ended. Without it, the chunks are joined and `put`.
   */
  putStream?(key: string, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * Reads an object, or the bytes `range` names of it, as a stream of chunks; undefined when there is
   * none or the range starts past its end. Without it, `get`.
   */
  getStream?(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined>;
}

/** Bytes `start` to `end`, both included (HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface ListedObject {
  readonly key: string;
  readonly etag: string;
}

/** Writes a stream through `putStream`, or joined through `put` for a bucket that has none. */
export async function putStreamed(bucket: Bucket, key: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  if (bucket.putStream !== undefined) return bucket.putStream(key, chunks);
  const all: Uint8Array[] = [];
  for await (const c of chunks) all.push(c);
  await bucket.put(key, Buffer.concat(all));
}

/** Reads a stream through `getStream`, or the object through `get` (cut to `range`) for a bucket that has none. */
export async function getStreamed(bucket: Bucket, key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
  if (bucket.getStream !== undefined) return bucket.getStream(key, range);
  const stored = await bucket.get(key);
  if (stored === undefined) return undefined;
  const body = cut(stored.body, range);
  if (body === undefined) return undefined;
  return (async function* () {
    yield body;
  })();
}

/** The bytes of `range` as S3 answers it: undefined when it starts past the end, short when it ends past it. */
function cut(body: Uint8Array, range: ByteRange | undefined): Uint8Array | undefined {
  if (range === undefined) return body;
  if (range.start >= body.length) return undefined;
  return body.subarray(range.start, range.end + 1);
}

/** Times a snapshot read cut off mid-body is read on from where it stopped. */
const RESUMES = 3;

/** S3's smallest multipart part but the last (5 MiB); 8 MiB keeps the part count of a 1 GB object near 120. */
const UPLOAD_PART = 8 * 1024 * 1024;

const bytes = (body: Uint8Array | string): Uint8Array => (typeof body === 'string' ? new TextEncoder().encode(body) : body);

/** In memory, for unit tests only: the provider's real store is S3. */
export class MemoryBucket implements Bucket {
  readonly #objects = new Map<string, StoredObject>();
  #version = 0;

  async put(key: string, body: Uint8Array | string, condition: PutCondition = {}): Promise<boolean> {
    const current = this.#objects.get(key);
    if (condition.ifNoneMatch === '*' && current !== undefined) return false;
    if (condition.ifMatch !== undefined && current?.etag !== condition.ifMatch) return false;
    this.#objects.set(key, { body: Uint8Array.from(bytes(body)), etag: `"${++this.#version}"` });
    return true;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const o = this.#objects.get(key);
    return o === undefined ? undefined : { body: Uint8Array.from(o.body), etag: o.etag };
  }

  /** Joined when the stream ends, as S3's multipart upload completes. */
  async putStream(key: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const all: Uint8Array[] = [];
    for await (const c of chunks) all.push(Uint8Array.from(c));
    await this.put(key, Buffer.concat(all));
  }

  /** In chunks of `readChunk` bytes (64 KiB), as S3 hands a body out, so tests see a part arrive piece by piece. */
  async getStream(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const o = this.#objects.get(key);
    const part = o === undefined ? undefined : cut(o.body, range);
    if (part === undefined) return undefined;
    const body = Uint8Array.from(part);
    const size = this.readChunk;
    return (async function* () {
      for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
    })();
  }

  readChunk = 64 * 1024;

  async list(prefix: string): Promise<string[]> {
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async entries(prefix: string): Promise<ListedObject[]> {
    return (await this.list(prefix)).map((key) => ({ key, etag: this.#objects.get(key)!.etag }));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.#objects.delete(k);
  }
}

export interface S3BucketOptions {
  readonly endpoint?: string;
  readonly region: string;
  /** As the environment gives them (for the reference provider: `Environment.s3.credentials`); default: the AWS SDK's own chain. */
  readonly credentials?: AwsCredentials;
  readonly bucket: string;
}

export function createS3Client(options: Pick<S3BucketOptions, 'endpoint' | 'region' | 'credentials'>): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    forcePathStyle: true,
    // Integrity is the snapshot's own business (the manifest's SHA-256 of each part, the Encryption SDK's
    // authentication); a CRC32 of every body as well, computed and checked, was one more cost per request.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** The provider's bucket on S3 (LocalStack in tests). */
export class S3Bucket implements Bucket {
  readonly name: string;
  readonly #s3: S3Client;

  private constructor(s3: S3Client, name: string) {
    this.#s3 = s3;
    this.name = name;
  }

  /** Opens the bucket, creating it on first use. */
  static async open(options: S3BucketOptions, client?: S3Client): Promise<S3Bucket> {
    const s3 = client ?? createS3Client(options);
    try {
      await s3.send(new HeadBucketCommand({ Bucket: options.bucket }));
    } catch (error) {
      if (status(error) !== 404) throw error;
      try {
        await s3.send(new CreateBucketCommand({ Bucket: options.bucket }));
      } catch (created) {
        // Another process of the same provider created it first.
        if ((created as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw created;
      }
    }
    return new S3Bucket(s3, options.bucket);
  }

  async put(key: string, body: Uint8Array | string, condition: PutCondition = {}): Promise<boolean> {
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.name,
          Key: key,
          Body: bytes(body),
          ...(condition.ifNoneMatch === undefined ? {} : { IfNoneMatch: condition.ifNoneMatch }),
          ...(condition.ifMatch === undefined ? {} : { IfMatch: condition.ifMatch }),
        }),
      );
      return true;
    } catch (error) {
      // 412 Precondition Failed; 409 when a concurrent conditional write is in flight.
      if (status(error) === 412 || status(error) === 409) return false;
      throw error;
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.#s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      const body = await out.Body!.transformToByteArray();
      return { body, etag: out.ETag ?? '' };
    } catch (error) {
      if (status(error) === 404) return undefined;
      throw error;
    }
  }

  /** A multipart upload (parts of 8 MiB, one in flight), completed only once the stream has ended; aborted if it fails. */
  async putStream(key: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    let pending: Uint8Array[] = [];
    let held = 0;
    let uploadId: string | undefined;
    const done: { ETag: string; PartNumber: number }[] = [];
    const upload = async (): Promise<void> => {
      uploadId ??= (await this.#s3.send(new CreateMultipartUploadCommand({ Bucket: this.name, Key: key }))).UploadId!;
      const body = pending.length === 1 ? pending[0]! : Buffer.concat(pending, held);
      pending = [];
      held = 0;
      const PartNumber = done.length + 1;
      const out = await this.#s3.send(new UploadPartCommand({ Bucket: this.name, Key: key, UploadId: uploadId, PartNumber, Body: body }));
      done.push({ ETag: out.ETag!, PartNumber });
    };
    try {
      for await (const c of chunks) {
        pending.push(c);
        held += c.byteLength;
        if (held >= UPLOAD_PART) await upload();
      }
      if (uploadId === undefined) {
        // Small enough for one request.
        await this.put(key, pending.length === 1 ? pending[0]! : Buffer.concat(pending, held));
        return;
      }
      if (held > 0) await upload();
      await this.#s3.send(new CompleteMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }));
    } catch (error) {
      if (uploadId !== undefined)
        await this.#s3.send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  }

  /**
   * A body cut off mid-way (the connection reset or closed) is read on from where it stopped, of
   * the same object version only (`If-Match` its ETag), up to RESUMES times: the SDK retries a
   * request, not a body already streaming. Regression: a 100,000-user download, its Graph mock in
   * the same process, lost its connection after 324 KB and was refused as DataTampered.
   */
  async getStream(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const first = await this.#getRange(key, range?.start ?? 0, range?.end);
    if (first === undefined) return undefined;
    const open = (at: number, etag: string | undefined) => this.#getRange(key, at, range?.end, etag);
    const end = range?.end;
    return (async function* () {
      let { body, etag } = first;
      let at = range?.start ?? 0;
      for (let resumed = 0; ; ) {
        try {
          for await (const chunk of body) {
            at += chunk.byteLength;
            yield chunk;
          }
          return;
        } catch (error) {
          if (resumed++ >= RESUMES) throw error;
          if (end !== undefined && at > end) return;
          const next = await open(at, etag);
          // Nothing left past `at` (416): the body had ended when the connection went.
          if (next === undefined) return;
          ({ body, etag } = next);
        }
      }
    })();
  }

  async #getRange(key: string, start: number, end: number | undefined, ifMatch?: string) {
    const whole = start === 0 && end === undefined;
    try {
      const out = await this.#s3.send(
        new GetObjectCommand({
          Bucket: this.name,
          Key: key,
          ...(whole ? {} : { Range: `bytes=${start}-${end ?? ''}` }),
          ...(ifMatch === undefined ? {} : { IfMatch: ifMatch }),
        }),
      );
      return { body: out.Body as AsyncIterable<Uint8Array>, etag: out.ETag };
    } catch (error) {
      // 416 Range Not Satisfiable: the object is shorter than the range's start.
      if (status(error) === 404 || status(error) === 416) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.entries(prefix)).map((o) => o.key);
  }

  async entries(prefix: string): Promise<ListedObject[]> {
    const listed: ListedObject[] = [];
    let token: string | undefined;
    do {
      const out = await this.#s3.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }),
      );
      for (const o of out.Contents ?? []) if (o.Key !== undefined) listed.push({ key: o.Key, etag: o.ETag ?? '' });
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
    return listed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.#s3.send(new DeleteObjectsCommand({ Bucket: this.name, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
  }
}
