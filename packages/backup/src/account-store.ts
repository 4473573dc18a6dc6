import type { Bucket } from './bucket.ts';
import type { Phase } from './phases.ts';

/** How the provider signs in to one customer tenant (app registration, client credentials). */
export interface TenantCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface Schedule {
  readonly everyMs: number;
  /** ISO time of the next scheduled backup. */
  readonly nextDueAt: string;
}

/** One product account as the provider keeps it on S3. */
export interface AccountRecord {
  readonly accountId: string;
  readonly phase: Phase;
  readonly activeArn?: string;
  readonly pendingArn?: string;
  readonly tenants: readonly TenantCredentials[];
  readonly schedule?: Schedule;
  /** Customer keys that protected the account before an update completed. */
  readonly formerArns: readonly string[];
}

/** The accounts' settings on the provider's bucket: `accounts/<id>/settings.json`. */
export class AccountStore {
  readonly #bucket: Bucket;

  constructor(bucket: Bucket) {
    this.#bucket = bucket;
  }

  #key(accountId: string): string {
    return `accounts/${accountId}/settings.json`;
  }

  async get(accountId: string): Promise<AccountRecord | undefined> {
    const stored = await this.#bucket.get(this.#key(accountId));
    return stored === undefined ? undefined : (JSON.parse(new TextDecoder().decode(stored.body)) as AccountRecord);
  }

  async require(accountId: string): Promise<AccountRecord> {
    const r = await this.get(accountId);
    if (r === undefined) throw new RangeError(`no product account ${accountId}`);
    return r;
  }

  async save(record: AccountRecord): Promise<void> {
    await this.#bucket.put(this.#key(record.accountId), JSON.stringify(record, null, 2));
  }

  /** Saves `next` in place of `record`, unless nothing changed. */
  async replace(record: AccountRecord, next: AccountRecord): Promise<AccountRecord> {
    if (JSON.stringify(next) !== JSON.stringify(record)) await this.save(next);
    return next;
  }

  async ids(): Promise<string[]> {
    const keys = await this.#bucket.list('accounts/');
    return keys.filter((k) => k.endsWith('/settings.json')).map((k) => k.split('/')[1]!);
  }
}

/** The tenant a command names, or the account's first. */
export function tenantOf(record: AccountRecord, tenantId: string | undefined): TenantCredentials {
  const t = tenantId === undefined ? record.tenants[0] : record.tenants.find((x) => x.tenantId === tenantId);
  if (t === undefined) throw new RangeError(`account ${record.accountId} has no tenant ${tenantId ?? ''}`);
  return t;
}

/**
 * The record in a new phase with the keys given (a key left out is cleared); a customer key
 * that stops being the one in force is remembered as former (EKM-16).
 */
export function moved(record: AccountRecord, phase: Phase, keys: { activeArn?: string | undefined; pendingArn?: string | undefined }): AccountRecord {
  const { activeArn: _a, pendingArn: _p, ...rest } = record;
  const left = record.activeArn !== undefined && keys.activeArn !== record.activeArn && !record.formerArns.includes(record.activeArn);
  return {
    ...rest,
    phase,
    ...(keys.activeArn === undefined ? {} : { activeArn: keys.activeArn }),
    ...(keys.pendingArn === undefined ? {} : { pendingArn: keys.pendingArn }),
    formerArns: left ? [...record.formerArns, record.activeArn!] : record.formerArns,
  };
}
