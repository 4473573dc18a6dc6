/**
 * What one scenario's steps act on and remember: its accounts, tenants, keys, snapshots,
 * faults and the provider session. The step handlers (`./actions/`) read and change it; the
 * run (`./run.ts`) sets it up, drives the steps and tears it down.
 */
import { randomInt } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DirectoryState, MockTenant } from '@ekm/entra-mock';
import type { Outcome as ProtocolOutcome, ProviderBinding, ProviderSession } from '@ekm/protocol';
import { FAILURES, initialAccount, isFailureCode, type AccountCommand, type Failure } from '@ekm/domain';
import type { KmsGateway } from '@ekm/kms-gateway';
import { ACCOUNT_ROLES, DURATION, type AccountRole } from '../format.ts';
import type { LoadedScenario } from '../load.ts';
import type { WorkflowTally } from '../results.ts';
import type { SecretScanner } from '../secrets.ts';
import { KeyAdministrator } from './admin.ts';
import { awsFailure } from './aws-errors.ts';
import type { Outcome } from './expect.ts';
import { KeyMirror } from './keys.ts';
import { AccountMirror } from './mirror.ts';
import type { NamedEntity } from './tenant.ts';

export interface WorldParts {
  readonly localstackEndpoint: string;
  readonly gateway: KmsGateway;
  /** Microsoft's side over loopback HTTP: every scenario's tenant is registered here. */
  readonly graph: { readonly url: string; readonly registry: { add(t: MockTenant): void; remove(tenantId: string): void } };
  /** The provider under test, reached only through `ekm.provider/v1`. */
  readonly provider: ProviderBinding;
  readonly region: string;
  /** The secret scan, when the run keeps one: every stored object and download is searched at teardown. */
  readonly secrets?: SecretScanner;
  /** The LocalStack process when this host runs it: `fault.localstack` freezes it. */
  readonly localstackPid?: number | undefined;
}

/** Scheduled backups run every hour of scenario time; a `workflow.scheduledBackup` step moves the clock to the next one. */
export const SCHEDULE_EVERY_MS = 60 * 60 * 1000;

export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function newAccountId(): string {
  return `${randomInt(1, 10)}${String(randomInt(0, 1e11)).padStart(11, '0')}`;
}

/** A stable number from the scenario id, so the same scenario gets the same tenant on every run. */
export function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) % 1_000_000;
}

export interface SnapshotRecord {
  readonly id: string;
  /** The scenario's name of the tenant it belongs to. */
  readonly tenant: string;
  /** The tenant as it was when the snapshot was taken: what a restore must bring back. */
  readonly state: DirectoryState;
}

export interface BackupRecord {
  readonly id?: string;
  readonly state: DirectoryState;
  readonly faults: readonly string[];
  readonly tenant: string;
  /** The provider crashed during it: it may have committed, or not, but must never be half there. */
  readonly crashed?: boolean;
}

/** Thrown by a step that cannot be carried out as written (a scenario error, not a product failure). */
export class StepError extends Error {
  override readonly name = 'StepError';
}

/** Thrown by a step this environment cannot carry out (e.g. freezing a LocalStack the run does not own): the scenario is skipped, with the reason. */
export class NotApplicable extends Error {
  override readonly name = 'NotApplicable';
}

export class Scene {
  readonly parts: WorldParts;
  readonly loaded: LoadedScenario;
  readonly accounts: Record<AccountRole, string>;
  /** The product account the customer signs in to. */
  readonly account: string;
  readonly admin: KeyAdministrator;
  readonly seed: number;
  readonly bucket: string;
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly entities = new Map<string, NamedEntity>();
  /** Named entities' tenants. */
  readonly entityTenant = new Map<string, string>();
  /** The scenario's tenants by name, in declaration order; the first is every step's default. */
  readonly tenants = new Map<string, { tenant: MockTenant; connected: boolean }>();
  /** Gateway toxics this scenario added, by name. */
  readonly toxics = new Set<string>();
  /** Active faults by name, with the kind they are tallied under. */
  readonly faults = new Map<string, string>();
  readonly tally: Record<string, WorkflowTally> = {};
  /** Every backup this scenario ran: what the provider reported, the tenant it read, the faults it ran under. */
  readonly backups: BackupRecord[] = [];
  /** Every file the scenario downloaded, for the secret scan at teardown. */
  readonly downloads: { name: string; zip: Uint8Array }[] = [];
  readonly transitions: string[] = [];
  /** The domain's key lifecycle beside the real keys, and its account model beside the provider. */
  readonly keys: KeyMirror;
  readonly model: AccountMirror;
  /** The file the current step downloaded, for its data expectations. */
  lastDownload: Uint8Array | undefined;
  provider!: ProviderSession;
  s3!: S3Client;
  /** When the next scheduled backup is due: the harness sets the schedule, so it knows. */
  nextDue = 0;
  frozenUntil = 0;
  /** A crash armed by `fault.provider` that the next workflow or update runs into. */
  crashArmed: string | undefined;
  /**
   * The model's moves of steps run while another step's work is held (`during`), kept until
   * that work ends. The rules' position (EKM-19): held work goes on with the tenant key it
   * already unwrapped, so it comes first in the model, and the held steps after it.
   */
  deferred: (() => void)[] | undefined;

  constructor(parts: WorldParts, loaded: LoadedScenario) {
    this.parts = parts;
    this.loaded = loaded;
    this.accounts = { provider: newAccountId(), customer: newAccountId(), other: newAccountId() };
    this.account = `acct-${this.accounts.customer}`;
    this.admin = new KeyAdministrator(
      parts.gateway.endpoint,
      parts.region,
      this.accounts,
      parts.secrets === undefined ? undefined : (m) => parts.secrets!.add(m, 'imported key material'),
    );
    this.seed = loaded.scenario.tenant?.seed ?? seedOf(loaded.scenario.id);
    this.bucket = `ekm-backups-${this.accounts.provider}`;
    this.keys = new KeyMirror(this.transitions, initialAccount({ providerAccountId: this.accounts.provider, regions: [parts.region] }));
    this.model = new AccountMirror(
      this.transitions,
      () => this.keys.state,
      (next) => (this.keys.state = next),
    );
  }

  now(): Date {
    return this.parts.gateway.control.clock.now(this.accounts.customer);
  }

  async advance(ms: number): Promise<void> {
    for (const role of ACCOUNT_ROLES) await this.parts.gateway.control.clock.advance(ms, this.accounts[role]);
  }

  /** The default tenant (the first): what single-tenant scenarios and the model mirror are about. */
  get tenant(): MockTenant {
    return this.tenants.values().next().value!.tenant;
  }

  defaultTenant(): string {
    return this.tenants.keys().next().value!;
  }

  tenantNamed(name: string | undefined): MockTenant {
    const t = this.tenants.get(name ?? this.defaultTenant());
    if (t === undefined) throw new StepError(`no tenant named ${name} in this scenario`);
    return t.tenant;
  }

  /** `$tenant` (the default tenant's id) and `$tenant:NAME` in expected encryption contexts. */
  tenantIds(): ReadonlyMap<string, string> {
    return new Map([['$tenant', this.tenant.tenantId], ...[...this.tenants].map(([n, t]) => [`$tenant:${n}`, t.tenant.tenantId] as [string, string])]);
  }

  snapshot(name: string): SnapshotRecord {
    const s = this.snapshots.get(name);
    if (s === undefined) throw new StepError(`snapshot ${name} was not taken (its backup did not succeed)`);
    return s;
  }

  entity(name: string): NamedEntity {
    const e = this.entities.get(name);
    if (e === undefined) throw new StepError(`no entity named ${name} was added in this scenario`);
    return e;
  }

  /** The ARN a step names: a key, an alias, or text with `${customer}`, `${region}`, `${key:NAME}` filled in. */
  arn(target: { key?: string | undefined; arn?: string | undefined; alias?: string | undefined }): string {
    if (target.key !== undefined) return this.admin.key(target.key).arn;
    if (target.alias !== undefined) return this.admin.aliasArn(target.alias);
    return target.arn!.replace(/\$\{(customer|provider|other|region|key:([A-Za-z][A-Za-z0-9_-]*))\}/g, (_, what: string, key?: string) => {
      if (key !== undefined) return this.admin.key(key).arn;
      if (what === 'region') return this.parts.region;
      return this.accounts[what as AccountRole];
    });
  }

  async connect(name: string): Promise<ProtocolOutcome> {
    const entry = this.tenants.get(name)!;
    const t = entry.tenant;
    const first = [...this.tenants.values()].every((x) => !x.connected);
    const result = await this.provider.connectTenant(
      this.account,
      { tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret },
      first ? { scheduleEveryMs: SCHEDULE_EVERY_MS } : {},
    );
    if (result.ok) entry.connected = true;
    return result;
  }

  /** A move of the model (account or key lifecycle): now, or after the held work it ran during. */
  mirror(move: () => void): void {
    if (this.deferred === undefined) move();
    else this.deferred.push(move);
  }

  /** A console or support command: its outcome in the harness's terms, observed by the model. */
  command(command: AccountCommand, result: ProtocolOutcome | typeof CRASHED): Outcome {
    if (result === CRASHED) return crashedOutcome(this.crashedAt);
    this.mirror(() => this.model.observe(command, result.ok));
    return asOutcome(result);
  }

  /** Where the last crash happened. */
  crashedAt = '';

  /**
   * Calls the provider; when a crash is armed and the call dies with the provider, restarts it
   * on the same storage and answers CRASHED. Without an armed crash, a throw is a broken step.
   */
  async call<T>(work: () => Promise<T>): Promise<T | typeof CRASHED> {
    if (this.crashArmed === undefined) return work();
    try {
      return await work();
    } catch (error) {
      const at = this.crashArmed;
      this.crashArmed = undefined;
      const restart = this.provider.restart;
      if (restart === undefined) throw error;
      const restarted = await restart.call(this.provider);
      if (!restarted.ok) throw new Error(`the provider crashed at ${at} and did not restart: ${restarted.failure.message}`);
      this.crashedAt = at;
      return CRASHED;
    }
  }

  /** Key administration refusals as the customer would read them. */
  async administer(work: () => Promise<void>): Promise<Outcome> {
    try {
      await work();
      return { ok: true };
    } catch (error) {
      if (error instanceof StepError) throw error;
      return { ok: false, failure: awsFailure(error) };
    }
  }

  /** Records a backup's result: the model observes the default tenant's, and a named snapshot remembers the tenant it read. */
  backupOutcome(
    workflow: 'scheduledBackup' | 'manualBackup',
    result: ProtocolOutcome<{ readonly snapshot: string }> | typeof CRASHED,
    name: string | undefined,
    state: DirectoryState,
    tenant: string,
  ): Outcome {
    if (result === CRASHED) {
      // It may have committed or not: the model learns nothing, `verify.snapshots` checks it is whole if it is there.
      this.backups.push({ state, faults: this.activeFaults(), tenant, crashed: true });
      return crashedOutcome(this.crashedAt);
    }
    // The domain model is of one tenant: the default one's workflows are what it predicts.
    if (tenant === this.defaultTenant())
      this.mirror(() => this.model.observe({ type: workflow, ...(result.ok ? { snapshotId: result.snapshot } : {}) }, result.ok));
    this.backups.push({ ...(result.ok ? { id: result.snapshot } : {}), state, faults: this.activeFaults(), tenant });
    if (!result.ok) return asOutcome(result);
    if (name !== undefined) this.snapshots.set(name, { id: result.snapshot, state, tenant });
    return { ok: true };
  }

  activeFaults(): string[] {
    const kinds = new Set(this.faults.values());
    if (Date.now() < this.frozenUntil) kinds.add('localstack-freeze');
    return [...kinds].sort();
  }

  /** The tally of workflows run under a fault, started on first use. */
  tallyOf(fault: string): WorkflowTally {
    this.tally[fault] ??= { attempted: 0, succeeded: 0, failedCleanly: 0, failedBadly: 0, lost: 0 };
    return this.tally[fault];
  }

  lose(faults: readonly string[]): void {
    for (const f of faults) this.tallyOf(f).lost++;
  }

  thaw(): void {
    this.frozenUntil = 0;
    try {
      process.kill(-this.parts.localstackPid!, 'SIGCONT');
    } catch {
      /* LocalStack already gone */
    }
  }
}

/** A provider call that died with the provider (`fault.provider`). */
export const CRASHED = Symbol('crashed');

function crashedOutcome(at: string): Outcome {
  return {
    ok: false,
    failure: { code: 'crashed' as Failure['code'], kind: 'transient', message: `the provider crashed at ${at} and was restarted on the same storage` },
  };
}

/** A protocol result in the harness's terms: the failure's kind comes from the domain's table, not the provider. */
export function asOutcome(result: ProtocolOutcome): Outcome {
  if (result.ok) return { ok: true, ...(result.message === undefined ? {} : { message: result.message }) };
  const f = result.failure;
  const kind = isFailureCode(f.code) ? FAILURES[f.code].kind : 'permanent';
  return { ok: false, failure: { code: f.code, kind, message: f.message, ...(f.field === undefined ? {} : { field: f.field }) } as Failure };
}
