import type { AwsCredentials } from '@ekm/kms';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
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
  delete(keys: readonly string[]): Promise<void>;
}

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

  async list(prefix: string): Promise<string[]> {
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort();
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

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.#s3.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }),
      );
      for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.#s3.send(new DeleteObjectsCommand({ Bucket: this.name, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
  }
}
