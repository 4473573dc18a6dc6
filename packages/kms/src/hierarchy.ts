import { failure } from '@ekm/domain';
import { ProviderFailure } from './failure-error.ts';
import type { EncryptionContext, KeyPort } from './port.ts';
import { TenantKey } from './tenant-key.ts';

/**
 * KMS requires the same encryption context to unwrap as to wrap, so the purpose names
 * what the ciphertext is (a tenant key), not which workflow unwraps it.
 */
export const TENANT_KEY_PURPOSE = 'tenant-key';

export function tenantKeyContext(tenant: string): EncryptionContext {
  return { tenant, purpose: TENANT_KEY_PURPOSE };
}

/** A tenant key as stored: wrapped under one KMS key. JSON-safe, holds no plaintext. */
export interface WrappedTenantKey {
  readonly keyArn: string;
  readonly version: number;
  /** KMS ciphertext blob, base64. */
  readonly ciphertext: string;
}

/**
 * The durable record of a tenant's key. `inForce` is the only wrapping workflows use;
 * `pending` is the journal of an update that has produced its new wrapping but not yet
 * committed it. Each write replaces the whole entry, so a crash leaves either the old or
 * the new wrapping in force, never neither.
 */
export interface TenantKeyEntry {
  readonly tenant: string;
  /** Bumped by every write; the journal stores an entry only over its predecessor. */
  readonly revision: number;
  readonly inForce: WrappedTenantKey;
  readonly pending?: WrappedTenantKey;
  /** Tenant-key versions lost with a destroyed KMS key: snapshots encrypted under them cannot be read (EKM-21). */
  readonly lost?: readonly LostTenantKey[];
}

/** A tenant key gone with the KMS key that wrapped it: no plaintext, no ciphertext, only which one. */
export interface LostTenantKey {
  readonly keyArn: string;
  readonly version: number;
}

/**
 * Where tenant-key entries live (the backup provider keeps them on S3). `write` must be
 * atomic and conditional: store `entry` only if the stored revision is
 * `entry.revision - 1` (or nothing is stored and `entry.revision` is 1); return false
 * otherwise, e.g. with S3 conditional writes (If-Match / If-None-Match).
 */
export interface TenantKeyJournal {
  read(tenant: string): Promise<TenantKeyEntry | undefined>;
  write(entry: TenantKeyEntry): Promise<boolean>;
}

/** A journal in memory, for tests and single-process simulations. */
export class MemoryJournal implements TenantKeyJournal {
  readonly #entries = new Map<string, string>();

  async read(tenant: string): Promise<TenantKeyEntry | undefined> {
    const stored = this.#entries.get(tenant);
    return stored === undefined ? undefined : (JSON.parse(stored) as TenantKeyEntry);
  }

  async write(entry: TenantKeyEntry): Promise<boolean> {
    const current = await this.read(entry.tenant);
    if ((current?.revision ?? 0) !== entry.revision - 1) return false;
    // Stored as JSON so nothing shares structure with the caller, as on S3.
    this.#entries.set(entry.tenant, JSON.stringify(entry));
    return true;
  }
}

/** Where one tenant key is being moved: what an update hook is told (no key material). */
export interface RewrapPoint {
  readonly tenant: string;
  readonly fromKeyArn: string;
  readonly toKeyArn: string;
}

/**
 * Crash points of a rewrap, for fault injection: a process dying at any of them must leave
 * the old or the new wrapping in force and the data readable with it (EKM-15, EKM-16).
 */
export interface UpdateHooks {
  /** Nothing is moved yet: the journal holds only the old wrapping. */
  readonly beforeRewrap?: (point: RewrapPoint) => void | Promise<void>;
  /** The new wrapping is made, verified and journaled as pending; the old one is still in force. */
  readonly afterRewrap?: (point: RewrapPoint) => void | Promise<void>;
  /** The new wrapping is in force; whoever called rewrap has not recorded that yet. */
  readonly afterCommit?: (point: RewrapPoint) => void | Promise<void>;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/** Unwraps one wrapped tenant key with KMS Decrypt and the context `{tenant, purpose}`: one KMS call. */
export async function unwrapTenantKey(port: KeyPort, tenant: string, wrapped: WrappedTenantKey): Promise<TenantKey> {
  const plaintext = await port.decrypt(wrapped.keyArn, unb64(wrapped.ciphertext), tenantKeyContext(tenant));
  return new TenantKey(tenant, wrapped.version, plaintext, wrapped.keyArn);
}

/**
 * The tenant-key hierarchy: one 256-bit key per tenant, stored only wrapped under a KMS
 * key (the provider's under Cloud Key Management, the customer's under EKM). Workflows
 * call `unwrap` once and `drop()` the result when they end.
 */
export class TenantKeys {
  readonly #port: KeyPort;
  readonly #journal: TenantKeyJournal;
  readonly #hooks: UpdateHooks;

  constructor(port: KeyPort, journal: TenantKeyJournal, hooks: UpdateHooks = {}) {
    this.#port = port;
    this.#journal = journal;
    this.#hooks = hooks;
  }

  /**
   * Creates the tenant key under `keyArn` (normally the provider's Cloud KM key) with
   * GenerateDataKey; the plaintext copy is zeroed at once. Returns the existing wrapping
   * if the tenant already has a key, so a retried onboarding cannot orphan data.
   */
  async create(tenant: string, keyArn: string): Promise<WrappedTenantKey> {
    const existing = await this.#journal.read(tenant);
    if (existing !== undefined) return existing.inForce;
    const { plaintext, ciphertext } = await this.#port.generateDataKey(keyArn, tenantKeyContext(tenant));
    plaintext.fill(0);
    const wrapped: WrappedTenantKey = { keyArn, version: 1, ciphertext: b64(ciphertext) };
    if (!(await this.#journal.write({ tenant, revision: 1, inForce: wrapped }))) {
      const winner = await this.#journal.read(tenant);
      if (winner !== undefined) return winner.inForce;
      throw new ProviderFailure(failure('UpdateInProgress', `The tenant key of ${tenant} is being written by another process.`));
    }
    return wrapped;
  }

  async entry(tenant: string): Promise<TenantKeyEntry | undefined> {
    return this.#journal.read(tenant);
  }

  async inForce(tenant: string): Promise<WrappedTenantKey> {
    const entry = await this.#journal.read(tenant);
    if (entry === undefined) throw new ProviderFailure(failure('KeyNotFound', `Tenant ${tenant} has no tenant key.`));
    return entry.inForce;
  }

  /** One KMS Decrypt of the wrapping in force. The caller owns the TenantKey and must `drop()` it. */
  async unwrap(tenant: string): Promise<TenantKey> {
    return unwrapTenantKey(this.#port, tenant, await this.inForce(tenant));
  }

  /**
   * Moves the tenant key under `toKeyArn`: enabling EKM (provider key -> customer key)
   * and key updates (old customer key -> new) alike. Uses ReEncrypt where the key
   * policies allow it, else Decrypt with the old key and Encrypt with the new one, then
   * proves the new wrapping decrypts before committing it. If the old key can no longer
   * be used the update fails with UpdateNeedsOldKey and the old wrapping stays in force
   * (EKM-15); after the commit the old key is not needed any more (EKM-16).
   */
  async rewrap(tenant: string, toKeyArn: string): Promise<WrappedTenantKey> {
    const entry = await this.#journal.read(tenant);
    if (entry === undefined) throw new ProviderFailure(failure('KeyNotFound', `Tenant ${tenant} has no tenant key.`));
    if (entry.pending !== undefined) {
      throw new ProviderFailure(failure('UpdateInProgress', `An update of the key of tenant ${tenant} to ${entry.pending.keyArn} has not completed.`));
    }
    const old = entry.inForce;
    if (old.keyArn === toKeyArn) {
      throw new ProviderFailure(failure('SameKey', `${toKeyArn} already protects tenant ${tenant}.`, toKeyArn));
    }
    const point: RewrapPoint = { tenant, fromKeyArn: old.keyArn, toKeyArn };
    await this.#hooks.beforeRewrap?.(point);
    const context = tenantKeyContext(tenant);
    const ciphertext = await this.#move(old, toKeyArn, context);
    const verified = await this.#port.decrypt(toKeyArn, ciphertext, context);
    verified.fill(0);
    const next: WrappedTenantKey = { keyArn: toKeyArn, version: old.version, ciphertext: b64(ciphertext) };
    const lost = () => new ProviderFailure(failure('UpdateInProgress', `The tenant key of ${tenant} was changed by another process during the update.`));
    const kept = entry.lost === undefined ? {} : { lost: entry.lost };
    if (!(await this.#journal.write({ tenant, revision: entry.revision + 1, inForce: old, pending: next, ...kept }))) throw lost();
    await this.#hooks.afterRewrap?.(point);
    if (!(await this.#journal.write({ tenant, revision: entry.revision + 2, inForce: next, ...kept }))) throw lost();
    await this.#hooks.afterCommit?.(point);
    return next;
  }

  /**
   * The KMS key wrapping the tenant key is destroyed (deleted after its waiting period), so the
   * tenant key is gone with it and cannot be rewrapped. A new tenant key (next version) is made
   * under `toKeyArn`; the old version is recorded as lost, so reads of snapshots it encrypted
   * say their data is unrecoverable instead of failing on the wrong key (EKM-21, EKM-18).
   * The caller must have seen the old key refuse as destroyed (KeyDeleted), never merely revoked.
   */
  async replace(tenant: string, toKeyArn: string): Promise<WrappedTenantKey> {
    const entry = await this.#journal.read(tenant);
    if (entry === undefined) throw new ProviderFailure(failure('KeyNotFound', `Tenant ${tenant} has no tenant key.`));
    const old = entry.inForce;
    const { plaintext, ciphertext } = await this.#port.generateDataKey(toKeyArn, tenantKeyContext(tenant));
    plaintext.fill(0);
    const next: WrappedTenantKey = { keyArn: toKeyArn, version: old.version + 1, ciphertext: b64(ciphertext) };
    const lost = [...(entry.lost ?? []), { keyArn: old.keyArn, version: old.version }];
    if (!(await this.#journal.write({ tenant, revision: entry.revision + 1, inForce: next, lost }))) {
      throw new ProviderFailure(failure('UpdateInProgress', `The tenant key of ${tenant} was changed by another process.`));
    }
    return next;
  }

  /**
   * After a crash between journaling and committing an update: drops the pending
   * wrapping so the old one, still in force, stays the only one. The update can then be
   * started again; until it completes the old key must stay usable (EKM-15).
   */
  async abandon(tenant: string): Promise<TenantKeyEntry | undefined> {
    const entry = await this.#journal.read(tenant);
    if (entry?.pending === undefined) return entry;
    const rolledBack: TenantKeyEntry = {
      tenant,
      revision: entry.revision + 1,
      inForce: entry.inForce,
      ...(entry.lost === undefined ? {} : { lost: entry.lost }),
    };
    if (!(await this.#journal.write(rolledBack))) {
      throw new ProviderFailure(failure('UpdateInProgress', `The tenant key of ${tenant} was changed by another process.`));
    }
    return rolledBack;
  }

  async #move(old: WrappedTenantKey, toKeyArn: string, context: EncryptionContext): Promise<Uint8Array> {
    const blob = unb64(old.ciphertext);
    try {
      return await this.#port.reEncrypt(old.keyArn, toKeyArn, blob, context);
    } catch (error) {
      // ReEncrypt cannot say which of the two keys refused; the two-step path can.
      if (!(error instanceof ProviderFailure) || error.failure.kind === 'transient') throw error;
    }
    let plaintext: Uint8Array;
    try {
      plaintext = await this.#port.decrypt(old.keyArn, blob, context);
    } catch (error) {
      if (error instanceof ProviderFailure && error.failure.kind !== 'transient') {
        throw new ProviderFailure(
          failure(
            'UpdateNeedsOldKey',
            `The old key ${old.keyArn} can no longer be used (${error.failure.message}) The update was not made and the old key stays in force; make it usable again until the update completes.`,
            old.keyArn,
          ),
          { cause: error },
        );
      }
      throw error;
    }
    try {
      return await this.#port.encrypt(toKeyArn, plaintext, context);
    } finally {
      plaintext.fill(0);
    }
  }
}
