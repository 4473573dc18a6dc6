import { CreateKeyCommand } from '@aws-sdk/client-kms';
import type { GraphClientOptions } from '@ekm/graph';
import { createKmsClient, kmsPort, TenantKeys, withKeyObserver, type AwsCredentials, type KeyMaterialObserver, type KeyPort, type UpdateHooks } from '@ekm/kms';
import { AccountStore, tenantOf, type AccountRecord, type TenantCredentials } from './account-store.ts';
import { S3Bucket, type Bucket } from './bucket.ts';
import { Console, type AccountView, type CommandResult } from './console.ts';
import type { ProviderContext } from './context.ts';
import { S3Journal } from './journal.ts';
import { Locks } from './locks.ts';
import { Scheduler } from './scheduler.ts';
import { SnapshotStore, type BackupHooks, type Manifest } from './snapshots.ts';
import { Workflows, type BackupResult, type BackupWorkflow, type DownloadResult, type ReadOptions, type RestoreResult } from './workflows.ts';

export type { AccountRecord, Schedule, TenantCredentials } from './account-store.ts';
export type { AccountView, CommandResult } from './console.ts';
export type { EntityRef } from './selection.ts';
export type { BackupResult, DownloadResult, ReadOptions, RestoreResult, WorkflowFailed } from './workflows.ts';

export interface ProviderOptions {
  /** The provider's 12-digit AWS account: the principal customers' key policies allow (EKM-02). */
  readonly accountId: string;
  readonly region?: string;
  /** Regions the provider stores data in; a customer key elsewhere is refused. Default: `[region]`. */
  readonly regions?: readonly string[];
  /** KMS endpoint (the gateway in tests); ignored when `keyPort` is given. */
  readonly kmsEndpoint?: string;
  /** Credentials for KMS, as the environment gives them; default: the AWS SDK's own chain. */
  readonly kmsCredentials?: AwsCredentials;
  readonly keyPort?: KeyPort;
  /**
   * Decorates the key port the provider uses, e.g. to count calls or (tests only) plant a bug;
   * called once for the port of the console (validation, key moves) and once for the workflows'.
   */
  readonly wrapKeyPort?: (port: KeyPort, use: 'console' | 'workflows') => KeyPort;
  /** The provider's own Cloud Key Management key; created in the provider's account when absent. */
  readonly cloudKeyArn?: string;
  readonly s3Endpoint?: string;
  /** Credentials for S3, as the environment gives them; default: the AWS SDK's own chain. */
  readonly s3Credentials?: AwsCredentials;
  /** Storage; default: the S3 bucket `ekm-backups-<accountId>`. */
  readonly bucket?: Bucket;
  readonly bucketName?: string;
  readonly clock?: () => Date;
  readonly hooks?: BackupHooks;
  /** Crash points inside every move of a tenant key (enabling, updates, new tenants), for fault injection. */
  readonly updateHooks?: UpdateHooks;
  /** Passed to every Graph client, e.g. `sleep` so throttling tests do not wait. */
  readonly graph?: Pick<GraphClientOptions, 'sleep' | 'fetch' | 'maxRetries' | 'backoffMs' | 'now'>;
  /** Learns every plaintext key the provider handles (for a secret scan); nothing else sees them. */
  readonly onKeyMaterial?: KeyMaterialObserver;
}

async function cloudKeyOf(bucket: Bucket, create: () => Promise<string>): Promise<string> {
  const read = async () => {
    const stored = await bucket.get('provider.json');
    return stored === undefined ? undefined : (JSON.parse(new TextDecoder().decode(stored.body)) as { cloudKeyArn: string }).cloudKeyArn;
  };
  const stored = await read();
  if (stored !== undefined) return stored;
  const cloudKeyArn = await create();
  // Another process of the same provider may have stored its key first: that one wins.
  if (!(await bucket.put('provider.json', JSON.stringify({ cloudKeyArn }), { ifNoneMatch: '*' }))) return (await read())!;
  return cloudKeyArn;
}

/**
 * The simulated backup provider: one per world, holding many product accounts, each with one or
 * more Entra tenants. A façade over its parts: the account store, the console, the workflows and
 * the scheduler. Settings, tenant-key journals and snapshots live on S3, so a provider opened
 * again on the same bucket continues where a killed one stopped.
 */
export class Provider {
  readonly accountId: string;
  readonly region: string;
  readonly regions: readonly string[];
  readonly cloudKeyArn: string;
  readonly #c: ProviderContext;
  readonly #console: Console;
  readonly #workflows: Workflows;
  readonly #scheduler: Scheduler;
  readonly #observer: KeyMaterialObserver | undefined;

  private constructor(context: ProviderContext, region: string, observer: KeyMaterialObserver | undefined) {
    this.accountId = context.accountId;
    this.region = region;
    this.regions = context.regions;
    this.cloudKeyArn = context.cloudKeyArn;
    this.#c = context;
    this.#console = new Console(context);
    this.#workflows = new Workflows(context);
    this.#scheduler = new Scheduler(context, this.#workflows);
    this.#observer = observer;
  }

  /** Opens the provider on its bucket, creating the bucket and its Cloud KM key on first use. */
  static async open(options: ProviderOptions): Promise<Provider> {
    if (!/^\d{12}$/.test(options.accountId)) throw new RangeError(`accountId must be 12 digits, got "${options.accountId}"`);
    const region = options.region ?? 'us-east-1';
    const client =
      options.keyPort === undefined
        ? createKmsClient({
            region,
            ...(options.kmsEndpoint === undefined ? {} : { endpoint: options.kmsEndpoint }),
            ...(options.kmsCredentials === undefined ? {} : { credentials: options.kmsCredentials }),
          })
        : undefined;
    const raw = options.keyPort ?? kmsPort(client!, options.accountId);
    const wrap = options.wrapKeyPort ?? ((p: KeyPort) => p);
    const bucket =
      options.bucket ??
      (await S3Bucket.open({
        region,
        bucket: options.bucketName ?? `ekm-backups-${options.accountId}`,
        ...(options.s3Endpoint === undefined ? {} : { endpoint: options.s3Endpoint }),
        ...(options.s3Credentials === undefined ? {} : { credentials: options.s3Credentials }),
      }));
    const cloudKeyArn = await cloudKeyOf(bucket, async () => {
      if (options.cloudKeyArn !== undefined) return options.cloudKeyArn;
      if (client === undefined) throw new Error('cloudKeyArn is required with an injected keyPort');
      const created = await client.send(new CreateKeyCommand({ Description: 'Cloud Key Management: provider key for tenant keys' }));
      return created.KeyMetadata!.Arn!;
    });
    const context: ProviderContext = {
      accountId: options.accountId,
      regions: options.regions ?? [region],
      cloudKeyArn,
      port: wrap(raw, 'console'),
      workflowPort: wrap(raw, 'workflows'),
      accounts: new AccountStore(bucket),
      journal: new S3Journal(bucket),
      store: new SnapshotStore(bucket),
      locks: new Locks(),
      clock: options.clock ?? (() => new Date()),
      hooks: options.hooks ?? {},
      updateHooks: options.updateHooks ?? {},
      graph: options.graph,
      running: new Set(),
    };
    return new Provider(context, region, options.onKeyMaterial);
  }

  /** Runs `work` with the key observer, if any, learning the keys it handles. */
  #run<T>(work: () => Promise<T>): Promise<T> {
    return withKeyObserver(this.#observer, work);
  }

  // ---- accounts ---------------------------------------------------------------------------

  account(accountId: string): Promise<AccountRecord | undefined> {
    return this.#c.accounts.get(accountId);
  }

  accountIds(): Promise<string[]> {
    return this.#c.accounts.ids();
  }

  /**
   * Signs up a product account under Cloud Key Management, with a tenant key per tenant wrapped
   * under the provider's key. EKM stays unavailable until support activates it (EKM-01).
   */
  addAccount(input: { accountId: string; tenants: readonly TenantCredentials[]; scheduleEveryMs?: number }): Promise<AccountRecord> {
    const c = this.#c;
    return this.#run(() =>
      c.locks.run(`account:${input.accountId}`, async () => {
        const existing = await c.accounts.get(input.accountId);
        if (existing !== undefined) return existing;
        const keys = new TenantKeys(c.port, c.journal);
        for (const t of input.tenants) await keys.create(t.tenantId, c.cloudKeyArn);
        const record: AccountRecord = {
          accountId: input.accountId,
          phase: 'notActivated',
          tenants: input.tenants,
          formerArns: [],
          ...(input.scheduleEveryMs === undefined
            ? {}
            : { schedule: { everyMs: input.scheduleEveryMs, nextDueAt: new Date(c.clock().getTime() + input.scheduleEveryMs).toISOString() } }),
        };
        await c.accounts.save(record);
        return record;
      }),
    );
  }

  addTenant(accountId: string, tenant: TenantCredentials): Promise<CommandResult> {
    return this.#run(() => this.#console.addTenant(accountId, tenant));
  }

  // ---- support and console (console.ts) ---------------------------------------------------

  activate(accountId: string): Promise<CommandResult> {
    return this.#run(() => this.#console.activate(accountId));
  }
  view(accountId: string): Promise<AccountView> {
    return this.#console.view(accountId);
  }
  submitArn(accountId: string, input: string): Promise<CommandResult> {
    return this.#run(() => this.#console.submitArn(accountId, input));
  }
  showTerms(accountId: string): Promise<CommandResult> {
    return this.#run(() => this.#console.showTerms(accountId));
  }
  declineTerms(accountId: string): Promise<CommandResult> {
    return this.#run(() => this.#console.declineTerms(accountId));
  }
  acceptTerms(accountId: string): Promise<CommandResult> {
    return this.#run(() => this.#console.acceptTerms(accountId));
  }
  updateKey(accountId: string, input: string, options: { complete?: boolean } = {}): Promise<CommandResult> {
    return this.#run(() => this.#console.updateKey(accountId, input, options));
  }
  completeUpdate(accountId: string): Promise<CommandResult> {
    return this.#run(() => this.#console.completeUpdate(accountId));
  }
  returnToCloudKms(accountId: string): Promise<CommandResult> {
    return this.#run(() => this.#console.returnToCloudKms(accountId));
  }

  // ---- workflows (workflows.ts) and the scheduler (scheduler.ts) --------------------------

  backup(accountId: string, options: { tenantId?: string; workflow?: BackupWorkflow; at?: Date } = {}): Promise<BackupResult> {
    return this.#run(() => this.#workflows.backup(accountId, options));
  }
  restore(accountId: string, options: ReadOptions & { tenantId?: string } = {}): Promise<RestoreResult> {
    return this.#run(() => this.#workflows.restore(accountId, options));
  }
  download(accountId: string, options: ReadOptions & { tenantId?: string; file: string }): Promise<DownloadResult> {
    return this.#run(() => this.#workflows.download(accountId, options));
  }
  tick(now: Date, options: { accountId?: string } = {}): Promise<BackupResult[]> {
    return this.#run(() => this.#scheduler.tick(now, options));
  }
  schedule(accountId: string, everyMs: number, from?: Date): Promise<void> {
    return this.#scheduler.schedule(accountId, everyMs, from);
  }

  // ---- what is stored -----------------------------------------------------------------------

  /** Which KMS key wraps a tenant's key now (no key material): what EKM-08 and EKM-16 are about. */
  async tenantKeyWrapping(accountId: string, tenantId?: string): Promise<{ keyArn: string; version: number; pendingKeyArn?: string }> {
    const record = await this.#c.accounts.require(accountId);
    const entry = await this.#c.journal.read(tenantOf(record, tenantId).tenantId);
    if (entry === undefined) throw new RangeError(`tenant of ${accountId} has no tenant key`);
    return { keyArn: entry.inForce.keyArn, version: entry.inForce.version, ...(entry.pending === undefined ? {} : { pendingKeyArn: entry.pending.keyArn }) };
  }

  /** Stored objects of a tenant that belong to no complete snapshot (left by a failed or killed backup). */
  async orphans(accountId: string, tenantId?: string): Promise<string[]> {
    const record = await this.#c.accounts.require(accountId);
    return this.#c.store.orphans(accountId, tenantOf(record, tenantId).tenantId, this.#c.running);
  }

  /** Complete snapshots of a tenant, oldest first. */
  async snapshots(accountId: string, tenantId?: string): Promise<Manifest[]> {
    const record = await this.#c.accounts.require(accountId);
    return this.#c.store.list(accountId, tenantOf(record, tenantId).tenantId);
  }
}
