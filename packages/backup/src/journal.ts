import type { TenantKeyEntry, TenantKeyJournal } from '@ekm/kms';
import type { Bucket } from './bucket.ts';

/**
 * The tenant-key journal on S3: one object per tenant, replaced only over the revision it
 * was read at (If-Match on its ETag, If-None-Match for the first), so a crash or a
 * concurrent writer leaves either the old or the new entry, never neither.
 */
export class S3Journal implements TenantKeyJournal {
  readonly #bucket: Bucket;
  readonly #prefix: string;

  constructor(bucket: Bucket, prefix = 'tenant-keys/') {
    this.#bucket = bucket;
    this.#prefix = prefix;
  }

  #key(tenant: string): string {
    return `${this.#prefix}${encodeURIComponent(tenant)}.json`;
  }

  async read(tenant: string): Promise<TenantKeyEntry | undefined> {
    const stored = await this.#bucket.get(this.#key(tenant));
    return stored === undefined ? undefined : (JSON.parse(new TextDecoder().decode(stored.body)) as TenantKeyEntry);
  }

  async write(entry: TenantKeyEntry): Promise<boolean> {
    const key = this.#key(entry.tenant);
    const body = JSON.stringify(entry);
    if (entry.revision === 1) return this.#bucket.put(key, body, { ifNoneMatch: '*' });
    const current = await this.#bucket.get(key);
    if (current === undefined) return false;
    const stored = JSON.parse(new TextDecoder().decode(current.body)) as TenantKeyEntry;
    if (stored.revision !== entry.revision - 1) return false;
    return this.#bucket.put(key, body, { ifMatch: current.etag });
  }
}
