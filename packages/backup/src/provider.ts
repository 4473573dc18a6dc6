import { rename, rm, writeFile } from 'node:fs/promises';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  CLOUD_KEY,
  consoleView,
  decide,
  failure,
  initialAccount,
  newKey,
  parseKeyArn,
  type AccountCommand,
  type AccountState,
  type BackupWorkflow,
  type ConsoleView,
  type Decision,
  type Failure,
  type KeyFacts,
  type Phase,
  type Workflow,
} from '@ekm/domain';
import {
  ENTITY_KINDS,
  GraphClient,
  GraphError,
  executeRestorePlan,
  planRestore,
  readTenant,
  readTenantParts,
  type DirectoryState,
  type EntityKind,
  type GraphClientOptions,
  type Unrestorable,
} from '@ekm/graph';
import { createKmsClient, KmsError, kmsPort, refusalOf, TenantKey, TenantKeys, unwrapTenantKey, validateKey, type KeyPort, type UpdateHooks } from '@ekm/kms';
import { S3Bucket, type Bucket } from './bucket.ts';
import { countingPort, type KmsCalls } from './counting.ts';
import { S3Journal } from './journal.ts';
import { newSnapshotId, SnapshotStore, type BackupHooks, type Manifest, type Part } from './snapshots.ts';
import { writeZip, type ZipEntry } from './zip.ts';

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

export interface ProviderOptions {
  /** The provider's 12-digit AWS account: the principal customers' key policies allow (EKM-02). */
  readonly accountId: string;
  readonly region?: string;
  /** Regions the provider stores data in; a customer key elsewhere is refused. Default: `[region]`. */
  readonly regions?: readonly string[];
  /** KMS endpoint (the gateway in tests); ignored when `keyPort` is given. */
  readonly kmsEndpoint?: string;
  readonly keyPort?: KeyPort;
  /** The provider's own Cloud Key Management key; created in the provider's account when absent. */
  readonly cloudKeyArn?: string;
  readonly s3Endpoint?: string;
  /** Storage; default: the S3 bucket `ekm-backups-<accountId>`. */
  readonly bucket?: Bucket;
  readonly bucketName?: string;
  readonly clock?: () => Date;
  readonly hooks?: BackupHooks;
  /** Crash points inside every move of a tenant key (enabling, updates, new tenants), for fault injection. */
  readonly updateHooks?: UpdateHooks;
  /** Passed to every Graph client, e.g. `sleep` so throttling tests do not wait. */
  readonly graph?: Pick<GraphClientOptions, 'sleep' | 'fetch' | 'maxRetries' | 'backoffMs' | 'now'>;
  /**
   * Test only: a known bug, planted so the model-based explorer can show it finds one.
   * `stale-tenant-key-cache` keeps unwrapped tenant keys across workflows, so a revoked key
   * keeps working (breaks EKM-12 and EKM-19). Nothing outside tests may set it.
   */
  readonly plantedBug?: 'stale-tenant-key-cache';
}

export interface EntityRef {
  readonly kind: EntityKind;
  readonly id: string;
}

interface WorkflowBase {
  readonly workflow: Workflow;
  readonly accountId: string;
  readonly tenantId: string;
  /** KMS calls made by this workflow, counted at the port. */
  readonly kmsCalls: KmsCalls;
  /** The domain transition taken, e.g. `ekmEnabled.restore.failed`. */
  readonly transition?: string;
}

export type WorkflowFailed = WorkflowBase & { readonly ok: false; readonly failure: Failure };
export type BackupResult = (WorkflowBase & { readonly ok: true; readonly snapshot: Manifest; readonly orphansRemoved: number }) | WorkflowFailed;
export type RestoreResult =
  | (WorkflowBase & { readonly ok: true; readonly snapshotId: string; readonly executed: number; readonly unrestorable: readonly Unrestorable[] })
  | WorkflowFailed;
export type DownloadResult =
  | (WorkflowBase & { readonly ok: true; readonly snapshotId: string; readonly file: string; readonly files: readonly string[] })
  | WorkflowFailed;

export type CommandResult =
  | { readonly ok: true; readonly transition: string; readonly kmsCalls: KmsCalls; readonly message: string }
  | { readonly ok: false; readonly transition?: string; readonly kmsCalls: KmsCalls; readonly failure: Failure; readonly findings: readonly Failure[] };

export interface AccountView extends ConsoleView {
  readonly phase: Phase;
  readonly tenants: readonly string[];
  /** Former keys no tenant key is wrapped under any more: the customer may disable or delete them (EKM-16). */
  readonly safeToRetire: readonly string[];
}

export interface ReadOptions {
  /** Default: the latest complete snapshot. */
  readonly snapshotId?: string;
  /** Default: the whole snapshot. */
  readonly entities?: readonly EntityRef[];
}

const TERMS =
  'Enabling Enterprise Key Management will automatically disable Cloud Key Management. Once you switch to Enterprise Key Management, you can\'t return to the default Cloud Key Management.';

const noCalls = (): KmsCalls => ({ total: 0, byOperation: {} });

/** Serialises work per name (an account's console commands, a tenant's workflows). */
class Locks {
  readonly #tails = new Map<string, Promise<unknown>>();
  run<T>(name: string, work: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(name) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.catch(() => undefined);
    this.#tails.set(name, tail);
    void tail.then(() => {
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    });
    return next;
  }
}

/** What the customer's key is like, as far as one observed outcome shows, in the domain's terms. */
function factsAfter(observed: Failure | undefined, base: KeyFacts = newKey()): KeyFacts | undefined {
  switch (observed?.code) {
    case undefined:
      return base;
    case 'KeyDisabled':
      return { ...base, lifecycle: 'Disabled' };
    case 'KeyPendingDeletion':
      return { ...base, lifecycle: 'PendingDeletion' };
    case 'KeyAccessDenied':
      return { ...base, access: 'denied' };
    case 'KeyMaterialUnavailable':
      return { ...base, origin: 'EXTERNAL', material: 'missing' };
    case 'KeyDeleted':
      return { ...base, lifecycle: 'Deleted' };
    case 'KeyNotFound':
      return undefined;
    case 'UnsupportedKeySpec':
      return { ...base, spec: 'RSA_2048' };
    case 'UnsupportedKeyUsage':
      return { ...base, usage: 'SIGN_VERIFY' };
    case 'KmsThrottled':
      return { ...base, fault: 'throttled' };
    case 'DataTampered':
      // The key answered; the blob it was given was not its tenant's. Nothing about the key changed.
      return base;
    default:
      return { ...base, fault: 'unavailable' };
  }
}

/** Every finding applied in turn: the domain then refuses the key for the same reason KMS gave. */
function factsFromFindings(findings: readonly Failure[]): KeyFacts | undefined {
  let facts: KeyFacts | undefined = newKey();
  for (const f of findings) {
    if (f.code === 'KeyRegionMismatch') continue; // the domain checks the region from the ARN itself
    facts = facts === undefined ? undefined : factsAfter(f, facts);
  }
  return facts;
}

function asFailure(error: unknown): Failure | undefined {
  if (error instanceof KmsError) return error.failure;
  if (error instanceof GraphError) return error.failure ?? failure('GraphRejected', `Microsoft Graph refused a call: ${error.message}`);
  return undefined;
}

/** The failure a key refused with, looking through UpdateNeedsOldKey to its cause. */
function keyFailureOf(error: unknown): { failure: Failure; cause?: Failure } | undefined {
  if (!(error instanceof KmsError)) return undefined;
  const cause = error.cause instanceof KmsError ? error.cause.failure : undefined;
  return { failure: error.failure, ...(cause === undefined ? {} : { cause }) };
}

/**
 * The simulated backup provider: one per world, holding many product accounts, each with
 * one or more Entra tenants. Settings, tenant-key journals and snapshots live on S3, so a
 * provider opened again on the same bucket continues where a killed one stopped.
 */
export class Provider {
  readonly accountId: string;
  readonly region: string;
  readonly regions: readonly string[];
  readonly cloudKeyArn: string;
  readonly #port: KeyPort;
  readonly #bucket: Bucket;
  readonly #store: SnapshotStore;
  readonly #journal: S3Journal;
  readonly #clock: () => Date;
  readonly #hooks: BackupHooks;
  readonly #updateHooks: UpdateHooks;
  readonly #graph: ProviderOptions['graph'];
  readonly #plantedBug: ProviderOptions['plantedBug'];
  /** Only with the planted bug: tenant-key bytes by wrapping, the cache EKM-19 forbids. */
  readonly #staleKeys = new Map<string, Uint8Array>();
  readonly #locks = new Locks();
  readonly #running = new Set<string>();

  private constructor(options: ProviderOptions, port: KeyPort, bucket: Bucket, cloudKeyArn: string) {
    this.accountId = options.accountId;
    this.region = options.region ?? 'us-east-1';
    this.regions = options.regions ?? [this.region];
    this.#port = port;
    this.#bucket = bucket;
    this.#store = new SnapshotStore(bucket);
    this.#journal = new S3Journal(bucket);
    this.cloudKeyArn = cloudKeyArn;
    this.#clock = options.clock ?? (() => new Date());
    this.#hooks = options.hooks ?? {};
    this.#updateHooks = options.updateHooks ?? {};
    this.#graph = options.graph;
    this.#plantedBug = options.plantedBug;
  }

  /** Opens the provider on its bucket, creating the bucket and its Cloud KM key on first use. */
  static async open(options: ProviderOptions): Promise<Provider> {
    if (!/^\d{12}$/.test(options.accountId)) throw new RangeError(`accountId must be 12 digits, got "${options.accountId}"`);
    const region = options.region ?? 'us-east-1';
    const client = options.keyPort === undefined ? createKmsClient({ region, account: options.accountId, ...(options.kmsEndpoint === undefined ? {} : { endpoint: options.kmsEndpoint }) }) : undefined;
    const port = options.keyPort ?? kmsPort(client!, options.accountId);
    const bucket =
      options.bucket ??
      (await S3Bucket.open({
        region,
        account: options.accountId,
        bucket: options.bucketName ?? `ekm-backups-${options.accountId}`,
        ...(options.s3Endpoint === undefined ? {} : { endpoint: options.s3Endpoint }),
      }));
    let cloudKeyArn = options.cloudKeyArn;
    const stored = await bucket.get('provider.json');
    if (stored !== undefined) {
      cloudKeyArn = (JSON.parse(new TextDecoder().decode(stored.body)) as { cloudKeyArn: string }).cloudKeyArn;
    } else {
      if (cloudKeyArn === undefined) {
        if (client === undefined) throw new Error('cloudKeyArn is required with an injected keyPort');
        const created = await client.send(new CreateKeyCommand({ Description: 'Cloud Key Management: provider key for tenant keys' }));
        cloudKeyArn = created.KeyMetadata!.Arn!;
      }
      if (!(await bucket.put('provider.json', JSON.stringify({ cloudKeyArn }), { ifNoneMatch: '*' }))) {
        const winner = await bucket.get('provider.json');
        cloudKeyArn = (JSON.parse(new TextDecoder().decode(winner!.body)) as { cloudKeyArn: string }).cloudKeyArn;
      }
    }
    return new Provider(options, port, bucket, cloudKeyArn);
  }

  // ---- accounts ---------------------------------------------------------------------------

  #recordKey(accountId: string): string {
    return `accounts/${accountId}/settings.json`;
  }

  async account(accountId: string): Promise<AccountRecord | undefined> {
    const stored = await this.#bucket.get(this.#recordKey(accountId));
    return stored === undefined ? undefined : (JSON.parse(new TextDecoder().decode(stored.body)) as AccountRecord);
  }

  async #save(record: AccountRecord): Promise<void> {
    await this.#bucket.put(this.#recordKey(record.accountId), JSON.stringify(record, null, 2));
  }

  async #require(accountId: string): Promise<AccountRecord> {
    const r = await this.account(accountId);
    if (r === undefined) throw new RangeError(`no product account ${accountId}`);
    return r;
  }

  async accountIds(): Promise<string[]> {
    const keys = await this.#bucket.list('accounts/');
    return keys.filter((k) => k.endsWith('/settings.json')).map((k) => k.split('/')[1]!);
  }

  /**
   * Signs up a product account under Cloud Key Management, with a tenant key per tenant
   * wrapped under the provider's key. EKM stays unavailable until support activates it (EKM-01).
   */
  async addAccount(input: { accountId: string; tenants: readonly TenantCredentials[]; scheduleEveryMs?: number }): Promise<AccountRecord> {
    return this.#locks.run(`account:${input.accountId}`, async () => {
      const existing = await this.account(input.accountId);
      if (existing !== undefined) return existing;
      const keys = new TenantKeys(this.#port, this.#journal);
      for (const t of input.tenants) await keys.create(t.tenantId, this.cloudKeyArn);
      const record: AccountRecord = {
        accountId: input.accountId,
        phase: 'notActivated',
        tenants: input.tenants,
        formerArns: [],
        ...(input.scheduleEveryMs === undefined
          ? {}
          : { schedule: { everyMs: input.scheduleEveryMs, nextDueAt: new Date(this.#clock().getTime() + input.scheduleEveryMs).toISOString() } }),
      };
      await this.#save(record);
      return record;
    });
  }

  /**
   * Connects another Entra tenant to an account. Its tenant key is created under the
   * provider's key and, when EKM is in force, moved under the customer's key at once (EKM-08).
   */
  addTenant(accountId: string, tenant: TenantCredentials): Promise<CommandResult> {
    return this.#locks.run(`account:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const { port, calls } = countingPort(this.#port);
      const keys = new TenantKeys(port, this.#journal);
      await keys.create(tenant.tenantId, this.cloudKeyArn);
      const next: AccountRecord = { ...record, tenants: [...record.tenants.filter((t) => t.tenantId !== tenant.tenantId), tenant] };
      const target = record.phase === 'updating' ? record.pendingArn : record.activeArn;
      if (target !== undefined) {
        const moved = await this.#moveAll(port, { ...next, tenants: [tenant] }, target, [], this.cloudKeyArn);
        if (!moved.ok) return { ok: false, kmsCalls: calls, failure: moved.failure, findings: [moved.failure] };
      }
      await this.#save(next);
      return { ok: true, transition: 'addTenant', kmsCalls: calls, message: `Tenant ${tenant.tenantId} is connected.` };
    });
  }

  /** The domain's view of an account, with the keys as KMS last showed them. */
  #model(record: AccountRecord, keys: Readonly<Record<string, KeyFacts | undefined>> = {}, tenantId?: string): AccountState {
    const facts: Record<string, KeyFacts> = {};
    for (const arn of [record.activeArn, record.pendingArn]) if (arn !== undefined) facts[arn] = newKey();
    for (const [arn, f] of Object.entries(keys)) {
      if (f === undefined) delete facts[arn];
      else facts[arn] = f;
    }
    const base = initialAccount({ providerAccountId: this.accountId, regions: this.regions, tenantId: tenantId ?? record.tenants[0]?.tenantId ?? record.accountId, activated: true });
    return {
      ...base,
      phase: record.phase,
      ...(record.activeArn === undefined ? {} : { activeArn: record.activeArn }),
      ...(record.pendingArn === undefined ? {} : { pendingArn: record.pendingArn }),
      keys: facts,
    };
  }

  /** Carries out what the domain decided about the account's settings. */
  async #apply(record: AccountRecord, decision: Decision): Promise<AccountRecord> {
    const s = decision.state;
    const next: AccountRecord = {
      accountId: record.accountId,
      phase: s.phase,
      ...(s.activeArn === undefined ? {} : { activeArn: s.activeArn }),
      ...(s.pendingArn === undefined ? {} : { pendingArn: s.pendingArn }),
      tenants: record.tenants,
      ...(record.schedule === undefined ? {} : { schedule: record.schedule }),
      formerArns:
        record.activeArn !== undefined && s.activeArn !== record.activeArn && !record.formerArns.includes(record.activeArn)
          ? [...record.formerArns, record.activeArn]
          : record.formerArns,
    };
    if (JSON.stringify(next) !== JSON.stringify(record)) await this.#save(next);
    return next;
  }

  /** A command the domain can refuse without using any key: refused commands change nothing. */
  async #plain(accountId: string, command: AccountCommand, message: string): Promise<CommandResult> {
    return this.#locks.run(`account:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const d = decide(this.#model(record), command);
      if (d.refusal !== undefined) return { ok: false, transition: d.transition, kmsCalls: noCalls(), failure: d.refusal, findings: [d.refusal] };
      await this.#apply(record, d);
      return { ok: true, transition: d.transition, kmsCalls: noCalls(), message };
    });
  }

  // ---- support ----------------------------------------------------------------------------

  /** Support activates EKM for the account (controlled availability, EKM-01). */
  activate(accountId: string): Promise<CommandResult> {
    return this.#plain(accountId, { type: 'activate' }, 'Enterprise Key Management is activated; the settings are shown on the Key Management tab.');
  }

  // ---- console ----------------------------------------------------------------------------

  /** The Key Management tab (EKM-01, EKM-02, EKM-10, EKM-16). */
  async view(accountId: string): Promise<AccountView> {
    const record = await this.#require(accountId);
    const inUse = new Set<string>();
    const unrecoverable: string[] = [];
    for (const t of record.tenants) {
      const entry = await this.#journal.read(t.tenantId);
      if (entry !== undefined) inUse.add(entry.inForce.keyArn);
      if (entry?.pending !== undefined) inUse.add(entry.pending.keyArn);
      // Snapshots whose tenant key was lost with a destroyed key: the customer sees what is gone (EKM-21).
      const lost = new Set((entry?.lost ?? []).map((l) => l.version));
      if (lost.size > 0) for (const m of await this.#store.list(record.accountId, t.tenantId)) if (lost.has(m.tenantKeyVersion)) unrecoverable.push(m.id);
    }
    return {
      ...consoleView(this.#model(record)),
      unrecoverableSnapshots: unrecoverable,
      phase: record.phase,
      tenants: record.tenants.map((t) => t.tenantId),
      safeToRetire: record.phase === 'ekmEnabled' ? record.formerArns.filter((arn) => !inUse.has(arn)) : [],
    };
  }

  /**
   * Validates a key ARN by using the key from the provider's account and reports every
   * finding (EKM-03..06). A refused ARN changes nothing.
   */
  submitArn(accountId: string, input: string): Promise<CommandResult> {
    return this.#locks.run(`account:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const checked = await this.#validate(record, { type: 'submitArn', input });
      if (!checked.ok) return checked;
      await this.#apply(record, checked.decision);
      return { ok: true, transition: checked.decision.transition, kmsCalls: checked.kmsCalls, message: `The key ${checked.arn} is validated. Accept the terms to enable Enterprise Key Management.` };
    });
  }

  /** Legality first (no KMS call for an illegal command), then the real validation, then the domain decides. */
  async #validate(
    record: AccountRecord,
    command: { type: 'submitArn' | 'updateKey'; input: string },
  ): Promise<{ ok: true; decision: Decision; arn: string; kmsCalls: KmsCalls } | Extract<CommandResult, { ok: false }>> {
    const parsed = parseKeyArn(command.input);
    const optimistic = decide(this.#model(record, parsed.ok ? { [parsed.arn.arn]: newKey() } : {}), command);
    if (optimistic.transition.endsWith('.refused')) {
      return { ok: false, transition: optimistic.transition, kmsCalls: noCalls(), failure: optimistic.refusal!, findings: [optimistic.refusal!] };
    }
    const { port, calls } = countingPort(this.#port);
    const validation = await validateKey(port, command.input, { regions: this.regions });
    const arn = validation.arn?.arn ?? (parsed.ok ? parsed.arn.arn : undefined);
    const keys = arn === undefined ? {} : { [arn]: factsFromFindings(validation.findings) };
    const d = decide(this.#model(record, keys), command);
    // One refusal naming every finding in the customer's words (what to change), with the model's code;
    // the model's own refusal is only a summary, used when KMS gave no finding of its own.
    const refusal = validation.findings.length > 0 ? refusalOf(validation.findings, d.refusal?.code) : d.refusal;
    if (refusal !== undefined) {
      return { ok: false, transition: d.transition, kmsCalls: calls, failure: refusal, findings: validation.findings.length > 0 ? validation.findings : [refusal] };
    }
    return { ok: true, decision: d, arn: arn!, kmsCalls: calls };
  }

  /** The legal terms, shown after a successful validation. */
  async showTerms(accountId: string): Promise<CommandResult> {
    const r = await this.#plain(accountId, { type: 'showTerms' }, TERMS);
    return r;
  }

  /**
   * Declining (or abandoning) leaves Cloud Key Management in force and nothing changed (EKM-07).
   * A provider killed while enabling may have moved tenant keys under the declined key: they
   * move back under the provider's key first, so what the console says is what protects the data.
   */
  declineTerms(accountId: string): Promise<CommandResult> {
    return this.#locks.run(`account:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const d = decide(this.#model(record), { type: 'declineTerms' });
      if (d.refusal !== undefined) return { ok: false, transition: d.transition, kmsCalls: noCalls(), failure: d.refusal, findings: [d.refusal] };
      const { port, calls } = countingPort(this.#port);
      const back = await this.#moveAll(port, record, this.cloudKeyArn, [], this.cloudKeyArn);
      if (!back.ok) return { ok: false, kmsCalls: calls, failure: back.failure, findings: [back.failure] };
      await this.#apply(record, d);
      return { ok: true, transition: d.transition, kmsCalls: calls, message: 'Enterprise Key Management was not enabled; Cloud Key Management stays in force.' };
    });
  }

  /**
   * Accepting the terms enables EKM: every tenant key of the account moves from the
   * provider's key under the customer's key, then Cloud Key Management is off (EKM-07, EKM-08).
   */
  acceptTerms(accountId: string): Promise<CommandResult> {
    return this.#locks.run(`account:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const command = { type: 'acceptTerms' } as const;
      const optimistic = decide(this.#model(record), command);
      if (optimistic.transition.endsWith('.refused')) {
        return { ok: false, transition: optimistic.transition, kmsCalls: noCalls(), failure: optimistic.refusal!, findings: [optimistic.refusal!] };
      }
      const arn = record.pendingArn!;
      const { port, calls } = countingPort(this.#port);
      const moved = await this.#moveAll(port, record, arn, [], this.cloudKeyArn);
      if (!moved.ok && moved.stranded.length > 0) {
        const f = this.#stranded(moved, arn);
        return { ok: false, kmsCalls: calls, failure: f, findings: [f] };
      }
      const keys = moved.ok ? { [arn]: newKey() } : { [arn]: factsAfter(moved.failure) };
      const d = decide(this.#model(record, keys), command);
      await this.#apply(record, d);
      if (d.refusal !== undefined || !moved.ok) {
        const f = d.refusal ?? (moved.ok ? failure('KmsUnavailable') : moved.failure);
        return { ok: false, transition: d.transition, kmsCalls: calls, failure: f, findings: [f] };
      }
      return { ok: true, transition: d.transition, kmsCalls: calls, message: `Enterprise Key Management is enabled with ${arn}; Cloud Key Management is disabled.` };
    });
  }

  /**
   * Moves every tenant key of the account under `toArn`. Tenants already there count as moved,
   * so a run interrupted by a crash can be repeated. On a failure, every tenant key under
   * `toArn` (moved by this run or by a killed one) is moved back under `backTo` where the keys
   * allow it; those that cannot be are `stranded`, and the caller must not report the move undone.
   */
  async #moveAll(
    port: KeyPort,
    record: AccountRecord,
    toArn: string,
    precheckFrom: readonly string[],
    backTo: string,
  ): Promise<{ ok: true; replaced: readonly string[] } | { ok: false; failure: Failure; cause?: Failure; stranded: readonly string[] }> {
    const keys = new TenantKeys(port, this.#journal, this.#updateHooks);
    const replaced: string[] = [];
    // Prove every tenant key can still be read before moving any (EKM-15), so a revoked old key fails the update before it starts.
    for (const t of record.tenants) {
      const entry = await keys.entry(t.tenantId);
      if (entry?.pending !== undefined) await keys.abandon(t.tenantId);
      if (entry === undefined || entry.inForce.keyArn === toArn || !precheckFrom.includes(entry.inForce.keyArn)) continue;
      try {
        (await keys.unwrap(t.tenantId)).drop();
      } catch (error) {
        const k = keyFailureOf(error);
        if (k === undefined) throw error;
        if (k.failure.code === 'KeyDeleted') {
          // Destroyed, not deactivated: the tenant key is gone with it and nothing can be rewrapped,
          // so waiting for the old key is pointless. A new tenant key under the new key (EKM-21).
          try {
            await keys.replace(t.tenantId, toArn);
          } catch (replacing) {
            const r = keyFailureOf(replacing);
            if (r === undefined) throw replacing;
            return { ok: false, ...r, stranded: await this.#moveBack(keys, record, toArn, backTo) };
          }
          replaced.push(t.tenantId);
          continue;
        }
        const f = k.failure.kind === 'transient'
          ? k.failure
          : failure('UpdateNeedsOldKey', `The old key ${entry.inForce.keyArn} can no longer be used (${k.failure.message}) The update was not made and the old key stays in force; make it usable again until the update completes.`, entry.inForce.keyArn);
        return { ok: false, failure: f, cause: k.failure, stranded: await this.#moveBack(keys, record, toArn, backTo) };
      }
    }
    for (const t of record.tenants) {
      const entry = await keys.entry(t.tenantId);
      if (entry === undefined || entry.inForce.keyArn === toArn) continue;
      try {
        await keys.rewrap(t.tenantId, toArn);
      } catch (error) {
        const k = keyFailureOf(error);
        if (k === undefined) throw error;
        return { ok: false, ...k, stranded: await this.#moveBack(keys, record, toArn, backTo) };
      }
    }
    return { ok: true, replaced };
  }

  /** Best effort after a failed move: the tenants whose keys stay under `from` (a pending wrapping counts as nothing). */
  async #moveBack(keys: TenantKeys, record: AccountRecord, from: string, backTo: string): Promise<string[]> {
    const stranded: string[] = [];
    for (const t of [...record.tenants].reverse()) {
      const entry = await keys.entry(t.tenantId);
      if (entry?.pending !== undefined) await keys.abandon(t.tenantId).catch(() => undefined);
      if (entry === undefined || entry.inForce.keyArn !== from || from === backTo) continue;
      try {
        await keys.rewrap(t.tenantId, backTo);
      } catch (error) {
        if (keyFailureOf(error) === undefined) throw error;
        stranded.push(t.tenantId);
      }
    }
    return stranded;
  }

  /** A failed move that left tenant keys under `arn`: nothing is rolled back in the settings, so the console shows the truth. */
  #stranded(moved: { failure: Failure; stranded: readonly string[] }, arn: string): Failure {
    return failure(
      moved.failure.code,
      `${moved.failure.message} The keys of ${moved.stranded.length} tenant(s) are already protected by ${arn} and could not be moved back: keep both keys usable, make ${arn} usable again and repeat the command.`,
      moved.failure.field,
    );
  }

  /**
   * Updates the customer key (EKM-14..16): validates the new ARN exactly like submitArn,
   * rewraps every tenant key from the old key to the new one, then switches. If the old
   * key is no longer usable the update fails and the old ARN stays in force.
   */
  updateKey(accountId: string, input: string, options: { complete?: boolean } = {}): Promise<CommandResult> {
    return this.#locks.run(`account:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const checked = await this.#validate(record, { type: 'updateKey', input });
      if (!checked.ok) return checked;
      const updating = await this.#apply(record, checked.decision);
      // Stopping here leaves the update in progress, as a rewrap still running would: both keys are needed until completeUpdate.
      if (options.complete === false) {
        return {
          ok: true,
          transition: checked.decision.transition,
          kmsCalls: checked.kmsCalls,
          message: `The key ${checked.arn} is validated and the update is in progress: keep both keys usable until it completes.`,
        };
      }
      const done = await this.#complete(updating);
      const total: KmsCalls = { total: checked.kmsCalls.total + done.kmsCalls.total, byOperation: { ...checked.kmsCalls.byOperation } };
      for (const [op, n] of Object.entries(done.kmsCalls.byOperation)) total.byOperation[op] = (total.byOperation[op] ?? 0) + n;
      return { ...done, kmsCalls: total };
    });
  }

  /** Finishes an update a killed provider left in progress (or refuses: NoUpdateInProgress). */
  completeUpdate(accountId: string): Promise<CommandResult> {
    return this.#locks.run(`account:${accountId}`, async () => this.#complete(await this.#require(accountId)));
  }

  async #complete(record: AccountRecord): Promise<CommandResult> {
    const command = { type: 'completeUpdate' } as const;
    const optimistic = decide(this.#model(record), command);
    if (optimistic.transition.endsWith('.refused')) {
      return { ok: false, transition: optimistic.transition, kmsCalls: noCalls(), failure: optimistic.refusal!, findings: [optimistic.refusal!] };
    }
    const oldArn = record.activeArn!;
    const newArn = record.pendingArn!;
    const { port, calls } = countingPort(this.#port);
    const moved = await this.#moveAll(port, record, newArn, [oldArn], oldArn);
    if (!moved.ok && moved.stranded.length > 0) {
      // The update stays in progress: the console keeps asking for both keys (EKM-15, EKM-16).
      const f = this.#stranded(moved, newArn);
      return { ok: false, kmsCalls: calls, failure: f, findings: [f] };
    }
    let keys: Record<string, KeyFacts | undefined> = moved.ok && moved.replaced.length > 0 ? { [oldArn]: factsAfter(failure('KeyDeleted')) } : {};
    if (!moved.ok) {
      keys = moved.failure.code === 'UpdateNeedsOldKey' || moved.failure.field === oldArn
        ? { [oldArn]: factsAfter(moved.cause ?? moved.failure) }
        : { [newArn]: factsAfter(moved.failure) };
    }
    const d = decide(this.#model(record, keys), command);
    await this.#apply(record, d);
    if (d.refusal !== undefined || !moved.ok) {
      const f = moved.ok ? d.refusal! : moved.failure.code === 'UpdateNeedsOldKey' ? moved.failure : (d.refusal ?? moved.failure);
      return { ok: false, transition: d.transition, kmsCalls: calls, failure: f, findings: [f] };
    }
    const lost = d.events.find((e) => e.type === 'tenantKeyReplaced');
    if (lost !== undefined) {
      const unrecoverable = (await this.view(record.accountId)).unrecoverableSnapshots;
      return {
        ok: true,
        transition: d.transition,
        kmsCalls: calls,
        message:
          `The KMS key ARN is updated to ${newArn}; new backups are protected by it. The old key ${oldArn} is destroyed: ` +
          `${unrecoverable.length} snapshot(s) it protected cannot be recovered (listed on the Key Management tab).`,
      };
    }
    return {
      ok: true,
      transition: d.transition,
      kmsCalls: calls,
      message: `The KMS key ARN is updated to ${newArn}. All backup data is now protected by it; ${oldArn} can be disabled or deleted.`,
    };
  }

  /** There is no way back to Cloud Key Management (EKM-09): always refused. */
  returnToCloudKms(accountId: string): Promise<CommandResult> {
    return this.#plain(accountId, { type: 'returnToCloudKms' }, '');
  }

  // ---- workflows --------------------------------------------------------------------------

  #graphClient(tenant: TenantCredentials): GraphClient {
    return new GraphClient({ ...this.#graph, tenantId: tenant.tenantId, clientId: tenant.clientId, clientSecret: tenant.clientSecret });
  }

  #tenant(record: AccountRecord, tenantId: string | undefined): TenantCredentials {
    const t = tenantId === undefined ? record.tenants[0] : record.tenants.find((x) => x.tenantId === tenantId);
    if (t === undefined) throw new RangeError(`account ${record.accountId} has no tenant ${tenantId ?? ''}`);
    return t;
  }

  /** The domain's verdict on a workflow, given how the key it needed behaved. */
  #verdict(record: AccountRecord, tenantId: string, workflow: Workflow, keyArn: string, snapshotId: string | undefined, observed: Failure | undefined): Decision {
    const ref = keyArn === this.cloudKeyArn ? CLOUD_KEY : keyArn;
    const state = this.#model(record, ref === CLOUD_KEY ? {} : { [ref]: factsAfter(observed) }, tenantId);
    const snapshots = snapshotId === undefined ? [] : [{ id: snapshotId, workflow: 'manualBackup' as BackupWorkflow, protectedBy: [ref] }];
    const withSnapshots: AccountState = { ...state, snapshots, snapshotCount: snapshots.length };
    const command: AccountCommand =
      workflow === 'restore' || workflow === 'download' ? { type: workflow, ...(snapshotId === undefined ? {} : { snapshotId }) } : { type: workflow };
    return decide(withSnapshots, command);
  }

  /**
   * Runs a workflow with its tenant key: unwrapped once at the start (one KMS Decrypt) and
   * dropped at the end whatever happens (EKM-11, EKM-19). Expected failures become values.
   */
  async #withTenantKey<T extends object>(
    record: AccountRecord,
    tenant: TenantCredentials,
    workflow: Workflow,
    snapshotId: string | undefined,
    work: (key: TenantKey, wrappedBy: string) => Promise<T>,
  ): Promise<(WorkflowBase & { ok: true } & T) | WorkflowFailed> {
    const { port, calls } = countingPort(this.#port);
    const keys = new TenantKeys(port, this.#journal);
    const base = { workflow, accountId: record.accountId, tenantId: tenant.tenantId, kmsCalls: calls };
    const wrapped = await keys.inForce(tenant.tenantId);
    let key: TenantKey;
    try {
      const stale = this.#plantedBug === 'stale-tenant-key-cache' ? this.#staleKeys.get(wrapped.ciphertext) : undefined;
      if (stale !== undefined) {
        key = new TenantKey(tenant.tenantId, wrapped.version, Uint8Array.from(stale), wrapped.keyArn);
      } else {
        // Exactly the wrapping read above, so the snapshot records the key that was really used.
        key = await unwrapTenantKey(port, tenant.tenantId, wrapped);
        if (this.#plantedBug === 'stale-tenant-key-cache') this.#staleKeys.set(wrapped.ciphertext, key.reveal((b) => Uint8Array.from(b)));
      }
    } catch (error) {
      const observed = asFailure(error);
      if (observed === undefined) throw error;
      const d = this.#verdict(record, tenant.tenantId, workflow, wrapped.keyArn, snapshotId, observed);
      // The provider's own key failing (transiently) is outside the domain's model: report it as KMS said.
      if (d.refusal === undefined) return { ...base, ok: false, failure: observed };
      // Same code: KMS's own words name the key and what to do; another code (a deleted key's data is unrecoverable) is the model's verdict.
      // The model knows KMS faults only as unavailable: a quota or an AWS error of its own keeps its code and words.
      const own = d.refusal.code === observed.code || (d.refusal.code === 'KmsUnavailable' && observed.kind === 'permanent' && observed.code.startsWith('Kms'));
      return { ...base, ok: false, transition: d.transition, failure: own ? observed : d.refusal };
    }
    try {
      const value = await work(key, wrapped.keyArn);
      const d = this.#verdict(record, tenant.tenantId, workflow, wrapped.keyArn, snapshotId, undefined);
      return { ...base, ok: true, transition: d.transition, ...value };
    } catch (error) {
      const observed = asFailure(error);
      if (observed === undefined) throw error;
      return { ...base, ok: false, failure: observed };
    } finally {
      key.drop();
    }
  }

  /** A manual backup (or, from the scheduler, a scheduled one) of one tenant. */
  backup(accountId: string, options: { tenantId?: string; workflow?: BackupWorkflow; at?: Date } = {}): Promise<BackupResult> {
    const workflow = options.workflow ?? 'manualBackup';
    return this.#locks.run(`workflows:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const tenant = this.#tenant(record, options.tenantId);
      const at = options.at ?? this.#clock();
      const id = newSnapshotId(at);
      // Leftovers of a backup that failed or was killed: never listed, removed now.
      const orphans = await this.#store.orphans(accountId, tenant.tenantId, this.#running);
      await this.#store.deleteObjects(orphans);
      this.#running.add(id);
      try {
        return await this.#withTenantKey(record, tenant, workflow, undefined, async (key, wrappedBy) => {
          try {
            const snapshot = await this.#store.write(
              key,
              readTenantParts(this.#graphClient(tenant)),
              { id, accountId, tenantId: tenant.tenantId, workflow, createdAt: at.toISOString(), keyArn: wrappedBy, cloudKeyManagement: wrappedBy === this.cloudKeyArn },
              this.#hooks,
            );
            return { snapshot, orphansRemoved: orphans.length };
          } catch (error) {
            // An expected failure commits nothing: its data objects go now. A crash leaves them to the next run.
            if (asFailure(error) !== undefined) await this.#store.deleteObjects(await this.#store.orphans(accountId, tenant.tenantId, new Set([...this.#running].filter((r) => r !== id))));
            throw error;
          }
        });
      } finally {
        this.#running.delete(id);
      }
    });
  }

  /** Which KMS key wraps a tenant's key now (no key material): what EKM-08 and EKM-16 are about. */
  async tenantKeyWrapping(accountId: string, tenantId?: string): Promise<{ keyArn: string; version: number; pendingKeyArn?: string }> {
    const record = await this.#require(accountId);
    const entry = await this.#journal.read(this.#tenant(record, tenantId).tenantId);
    if (entry === undefined) throw new RangeError(`tenant of ${accountId} has no tenant key`);
    return { keyArn: entry.inForce.keyArn, version: entry.inForce.version, ...(entry.pending === undefined ? {} : { pendingKeyArn: entry.pending.keyArn }) };
  }

  /** Stored objects of a tenant that belong to no complete snapshot (left by a failed or killed backup). */
  async orphans(accountId: string, tenantId?: string): Promise<string[]> {
    const record = await this.#require(accountId);
    return this.#store.orphans(accountId, this.#tenant(record, tenantId).tenantId, this.#running);
  }

  /** Complete snapshots of a tenant, oldest first. */
  async snapshots(accountId: string, tenantId?: string): Promise<Manifest[]> {
    const record = await this.#require(accountId);
    return this.#store.list(accountId, this.#tenant(record, tenantId).tenantId);
  }

  async #find(record: AccountRecord, tenant: TenantCredentials, snapshotId: string | undefined): Promise<Manifest | undefined> {
    const all = await this.#store.list(record.accountId, tenant.tenantId);
    return snapshotId === undefined ? all.at(-1) : all.find((m) => m.id === snapshotId);
  }

  /**
   * A snapshot encrypted under a tenant key that was lost with its destroyed KMS key (EKM-21):
   * unrecoverable, said without a KMS call (the key is gone; unwrapping the new tenant key could
   * only fail the integrity check). The domain gives the verdict, as for any destroyed key (EKM-18).
   */
  async #lost(record: AccountRecord, tenant: TenantCredentials, workflow: 'restore' | 'download', manifest: Manifest): Promise<WorkflowFailed | undefined> {
    const entry = await this.#journal.read(tenant.tenantId);
    const lost = entry?.lost?.find((l) => l.version === manifest.tenantKeyVersion);
    if (lost === undefined || entry?.inForce.version === manifest.tenantKeyVersion) return undefined;
    const d = this.#verdict(record, tenant.tenantId, workflow, lost.keyArn, manifest.id, failure('KeyDeleted'));
    const message = `Snapshot ${manifest.id} was protected only by the key ${lost.keyArn}, which is destroyed; its data cannot be recovered.`;
    return {
      workflow,
      accountId: record.accountId,
      tenantId: tenant.tenantId,
      kmsCalls: noCalls(),
      ok: false,
      transition: d.transition,
      failure: failure(d.refusal?.code ?? 'DataUnrecoverable', message, manifest.id),
    };
  }

  #notFound(record: AccountRecord, tenant: TenantCredentials, workflow: Workflow, snapshotId: string | undefined): WorkflowFailed {
    const d = decide(this.#model(record, {}, tenant.tenantId), workflow === 'restore' || workflow === 'download' ? { type: workflow, ...(snapshotId === undefined ? {} : { snapshotId }) } : { type: workflow });
    return {
      workflow,
      accountId: record.accountId,
      tenantId: tenant.tenantId,
      kmsCalls: noCalls(),
      ok: false,
      transition: d.transition,
      failure: failure('SnapshotNotFound', snapshotId === undefined ? 'The tenant has no complete snapshot.' : `No complete snapshot ${snapshotId}.`, snapshotId),
    };
  }

  /**
   * In-place restore of a whole snapshot, or of chosen entities (their properties, their own
   * members/owners and their memberships), through Graph.
   */
  restore(accountId: string, options: ReadOptions & { tenantId?: string } = {}): Promise<RestoreResult> {
    return this.#locks.run(`workflows:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const tenant = this.#tenant(record, options.tenantId);
      const manifest = await this.#find(record, tenant, options.snapshotId);
      if (manifest === undefined) return this.#notFound(record, tenant, 'restore', options.snapshotId);
      const lost = await this.#lost(record, tenant, 'restore', manifest);
      if (lost !== undefined) return lost;
      return this.#withTenantKey(record, tenant, 'restore', manifest.id, async (key) => {
        const snapshot = await this.#store.read(key, manifest, partsFor(options.entities));
        key.drop();
        const graph = this.#graphClient(tenant);
        const current = await readTenant(graph);
        const target = options.entities === undefined ? { ...snapshot, deleted: current.deleted } : withEntities(current, snapshot, options.entities);
        if ('code' in target) throw new KmsError(target);
        const plan = planRestore(target, current);
        const outcome = await executeRestorePlan(graph, plan);
        return { snapshotId: manifest.id, executed: outcome.executed, unrestorable: plan.unrestorable };
      });
    });
  }

  /**
   * Downloads a snapshot (or chosen entities) to `file`: a zip of JSON a person can open.
   * Written under a temporary name and renamed, so a failed download leaves no file.
   */
  download(accountId: string, options: ReadOptions & { tenantId?: string; file: string }): Promise<DownloadResult> {
    return this.#locks.run(`workflows:${accountId}`, async () => {
      const record = await this.#require(accountId);
      const tenant = this.#tenant(record, options.tenantId);
      const manifest = await this.#find(record, tenant, options.snapshotId);
      if (manifest === undefined) return this.#notFound(record, tenant, 'download', options.snapshotId);
      const lost = await this.#lost(record, tenant, 'download', manifest);
      if (lost !== undefined) return lost;
      return this.#withTenantKey(record, tenant, 'download', manifest.id, async (key) => {
        const snapshot = await this.#store.read(key, manifest, partsFor(options.entities));
        key.drop();
        const chosen = options.entities === undefined ? snapshot : only(snapshot, options.entities);
        if ('code' in chosen) throw new KmsError(chosen);
        const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2));
        const entries: ZipEntry[] = [
          {
            name: 'snapshot.json',
            data: json({ snapshotId: manifest.id, tenantId: manifest.tenantId, createdAt: manifest.createdAt, workflow: manifest.workflow, entities: options.entities ?? 'all' }),
          },
          ...ENTITY_KINDS.filter((k) => options.entities === undefined || chosen.objects[k].length > 0).map((k) => ({ name: `${k}.json`, data: json(chosen.objects[k]) })),
          { name: 'links.json', data: json(chosen.links) },
          ...(options.entities === undefined ? [{ name: 'deleted.json', data: json(chosen.deleted) }] : []),
        ];
        const partial = `${options.file}.partial`;
        try {
          await writeFile(partial, writeZip(entries));
          await rename(partial, options.file);
        } catch (error) {
          await rm(partial, { force: true });
          throw error;
        }
        return { snapshotId: manifest.id, file: options.file, files: entries.map((e) => e.name) };
      });
    });
  }

  // ---- scheduler --------------------------------------------------------------------------

  /**
   * Runs the scheduled backups due at `now` (of one account, or of all), each tenant once,
   * and moves each schedule past `now`. A provider killed mid-run leaves the schedule due,
   * so the next tick takes the backup again.
   */
  async tick(now: Date, options: { accountId?: string } = {}): Promise<BackupResult[]> {
    const ids = options.accountId === undefined ? await this.accountIds() : [options.accountId];
    const results: BackupResult[] = [];
    for (const id of ids) {
      const record = await this.account(id);
      if (record?.schedule === undefined || new Date(record.schedule.nextDueAt).getTime() > now.getTime()) continue;
      for (const t of record.tenants) results.push(await this.backup(id, { tenantId: t.tenantId, workflow: 'scheduledBackup', at: now }));
      await this.#locks.run(`account:${id}`, async () => {
        const latest = await this.#require(id);
        const s = latest.schedule!;
        let next = new Date(s.nextDueAt).getTime();
        while (next <= now.getTime()) next += s.everyMs;
        await this.#save({ ...latest, schedule: { ...s, nextDueAt: new Date(next).toISOString() } });
      });
    }
    return results;
  }

  /** Sets or changes the backup schedule of an account; the first backup is due `everyMs` from `from`. */
  async schedule(accountId: string, everyMs: number, from: Date = this.#clock()): Promise<void> {
    await this.#locks.run(`account:${accountId}`, async () => {
      const r = await this.#require(accountId);
      await this.#save({ ...r, schedule: { everyMs, nextDueAt: new Date(from.getTime() + everyMs).toISOString() } });
    });
  }
}

/** The snapshot parts a read needs: all of them, or the kinds chosen plus the links. */
function partsFor(entities: readonly EntityRef[] | undefined): ReadonlySet<Part> | undefined {
  if (entities === undefined) return undefined;
  return new Set<Part>(['links', ...entities.map((e) => e.kind)]);
}

function missingEntity(snapshot: DirectoryState, entities: readonly EntityRef[]): Failure | undefined {
  for (const e of entities) {
    if (!snapshot.objects[e.kind].some((o) => o.id === e.id)) {
      return failure('SnapshotNotFound', `The snapshot has no ${e.kind} ${e.id}.`, e.id);
    }
  }
  return undefined;
}

/** Only the chosen entities of a snapshot, with the links that name them. */
function only(snapshot: DirectoryState, entities: readonly EntityRef[]): DirectoryState | Failure {
  const missing = missingEntity(snapshot, entities);
  if (missing !== undefined) return missing;
  const ids = new Set(entities.map((e) => e.id));
  const objects = Object.fromEntries(ENTITY_KINDS.map((k) => [k, snapshot.objects[k].filter((o) => ids.has(o.id))]));
  const links = snapshot.links
    .map((l) => (ids.has(l.id) ? l : { ...l, targets: l.targets.filter((t) => ids.has(t)) }))
    .filter((l) => l.targets.length > 0);
  return { tenantId: snapshot.tenantId, objects: objects as unknown as DirectoryState['objects'], links, deleted: [] };
}

/**
 * The tenant as it is now with the chosen entities put back as the snapshot has them: their
 * properties, their own members/owners, and their membership in objects that still exist.
 */
function withEntities(current: DirectoryState, snapshot: DirectoryState, entities: readonly EntityRef[]): DirectoryState | Failure {
  const missing = missingEntity(snapshot, entities);
  if (missing !== undefined) return missing;
  const ids = new Set(entities.map((e) => e.id));
  const objects = Object.fromEntries(
    ENTITY_KINDS.map((k) => {
      const chosen = snapshot.objects[k].filter((o) => ids.has(o.id));
      const rest = current.objects[k].filter((o) => !ids.has(o.id));
      return [k, [...rest, ...chosen]];
    }),
  );
  const key = (l: { kind: string; id: string; relation: string }) => `${l.kind}/${l.id}/${l.relation}`;
  const snapLinks = new Map(snapshot.links.map((l) => [key(l), l]));
  const links = new Map(current.links.filter((l) => !ids.has(l.id)).map((l) => [key(l), { ...l, targets: [...l.targets] }]));
  for (const l of snapshot.links) if (ids.has(l.id)) links.set(key(l), { ...l, targets: [...l.targets] });
  // Memberships of a chosen entity in other objects: as in the snapshot.
  for (const [k, l] of links) {
    if (ids.has(l.id)) continue;
    const wanted = new Set(snapLinks.get(k)?.targets ?? []);
    l.targets = [...l.targets.filter((t) => !ids.has(t)), ...[...ids].filter((id) => wanted.has(id))];
  }
  for (const [k, l] of snapLinks) {
    if (links.has(k) || ids.has(l.id)) continue;
    const chosen = l.targets.filter((t) => ids.has(t));
    const exists = current.objects[l.kind].some((o) => o.id === l.id);
    if (chosen.length > 0 && exists) links.set(k, { ...l, targets: chosen });
  }
  return { tenantId: current.tenantId, objects: objects as unknown as DirectoryState['objects'], links: [...links.values()].filter((l) => l.targets.length > 0), deleted: current.deleted };
}
