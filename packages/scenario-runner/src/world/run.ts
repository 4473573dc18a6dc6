/**
 * One scenario in the world: its own accounts (provider, customer, other), its own
 * provider bucket, tenant and keys, on the run's shared LocalStack, gateway and MSW
 * server. Steps are carried out the way the console, the scheduler, support and the
 * customer's key administrator would, and checked against their expectations.
 */
import { randomInt } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createMockTenant, generateTenant, type DirectoryState, type MockTenant } from '@ekm/entra-mock';
import type { Capability, Outcome as ProtocolOutcome, ProviderBinding, ProviderSession } from '@ekm/protocol';
import { FAILURES, initialAccount, isFailureCode, type AccountCommand, type Failure } from '@ekm/domain';
import { unzipSync } from 'fflate';
import type { AuditEvent, KmsGateway, ToxicType } from '@ekm/kms-gateway';
import { ACCOUNT_ROLES, DURATION, type AccountRole, type Step } from '../format.ts';
import type { LoadedScenario } from '../load.ts';
import type { KmsCall, ScenarioResult, StepResult, WorkflowTally } from '../results.ts';
import { KeyAdministrator } from './admin.ts';
import { KeyMirror } from './keys.ts';
import { AccountMirror } from './mirror.ts';
import { awsFailure, gradeAwsError } from './aws-errors.ts';
import type { SecretScanner } from '../secrets.ts';
import { checkAudit, checkOutcome, checkTenantEquals, type Outcome } from './expect.ts';
import { drift, KIND_OF, newEntity, type NamedEntity } from './tenant.ts';

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
const SCHEDULE_EVERY_MS = 60 * 60 * 1000;
const REFERENCE_DATE = new Date('2026-01-01T00:00:00Z');

const TOXIC: Record<string, ToxicType> = { latency: 'latency', timeout: 'timeout', throttle: 'throttle', unavailable: 'internal', reset: 'reset' };

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
function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) % 1_000_000;
}

interface SnapshotRecord {
  readonly id: string;
  /** The scenario's name of the tenant it belongs to. */
  readonly tenant: string;
  /** The tenant as it was when the snapshot was taken: what a restore must bring back. */
  readonly state: DirectoryState;
}

/** Thrown by a step that cannot be carried out as written (a scenario error, not a product failure). */
class StepError extends Error {
  override readonly name = 'StepError';
}

/** Thrown by a step this environment cannot carry out (e.g. freezing a LocalStack the run does not own): the scenario is skipped, with the reason. */
class NotApplicable extends Error {
  override readonly name = 'NotApplicable';
}

export class ScenarioRun {
  readonly accounts: Record<AccountRole, string>;
  readonly productAccount: string;
  readonly #parts: WorldParts;
  readonly #loaded: LoadedScenario;
  readonly #admin: KeyAdministrator;
  readonly #snapshots = new Map<string, SnapshotRecord>();
  readonly #entities = new Map<string, NamedEntity>();
  readonly #toxics = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #transitions: string[] = [];
  readonly #keys: KeyMirror;
  readonly #account: AccountMirror;
  readonly #seed: number;
  /** Active faults by name, with the kind they are tallied under. */
  readonly #faults = new Map<string, string>();
  #frozenUntil = 0;
  readonly #tally: Record<string, WorkflowTally> = {};
  /** Every backup this scenario ran: what the provider reported, the tenant it read, the faults it ran under. */
  readonly #backups: { id?: string; state: DirectoryState; faults: readonly string[]; tenant: string }[] = [];
  /** Every file the scenario downloaded, for the secret scan at teardown. */
  readonly #downloads: { name: string; zip: Uint8Array }[] = [];
  /** The file the current step downloaded, for its data expectations. */
  #lastDownload: Uint8Array | undefined;
  #provider!: ProviderSession;
  #s3!: S3Client;
  readonly #bucket: string;
  /** When the next scheduled backup is due: the harness sets the schedule, so it knows. */
  #nextDue = 0;
  /** The scenario's tenants by name, in declaration order; the first is every step's default. */
  readonly #tenants = new Map<string, { tenant: MockTenant; connected: boolean }>();
  /** Named entities' tenants. */
  readonly #entityTenant = new Map<string, string>();

  constructor(parts: WorldParts, loaded: LoadedScenario) {
    this.#parts = parts;
    this.#loaded = loaded;
    this.accounts = { provider: newAccountId(), customer: newAccountId(), other: newAccountId() };
    this.productAccount = `acct-${this.accounts.customer}`;
    this.#admin = new KeyAdministrator(parts.gateway.endpoint, parts.region, this.accounts, parts.secrets === undefined ? undefined : (m) => parts.secrets!.add(m, 'imported key material'));
    this.#seed = loaded.scenario.tenant?.seed ?? seedOf(loaded.scenario.id);
    this.#bucket = `ekm-backups-${this.accounts.provider}`;
    this.#keys = new KeyMirror(this.#transitions, initialAccount({ providerAccountId: this.accounts.provider, regions: [parts.region] }));
    this.#account = new AccountMirror(this.#transitions, () => this.#keys.state, (next) => (this.#keys.state = next));
  }

  /** Capabilities the scenario needs that the provider under test does not declare. */
  missingCapabilities(): Capability[] {
    const needed = new Set<Capability>();
    for (const step of this.#loaded.scenario.steps) {
      if (step.action === 'store.tamper') needed.add('store.tamper');
      if (step.action === 'console.updateKey' && step.args.complete === false) needed.add('update.inProgress');
    }
    const declared = new Set(this.#parts.provider.info.capabilities);
    return [...needed].filter((c) => !declared.has(c)).sort();
  }

  /** The default tenant (the first): what single-tenant scenarios and the model mirror are about. */
  get #tenant(): MockTenant {
    return this.#tenants.values().next().value!.tenant;
  }

  #defaultTenant(): string {
    return this.#tenants.keys().next().value!;
  }

  #tenantNamed(name: string | undefined): MockTenant {
    const t = this.#tenants.get(name ?? this.#defaultTenant());
    if (t === undefined) throw new StepError(`no tenant named ${name} in this scenario`);
    return t.tenant;
  }

  /** `$tenant` (the default tenant's id) and `$tenant:NAME` in expected encryption contexts. */
  #tenantIds(): ReadonlyMap<string, string> {
    return new Map([['$tenant', this.#tenant.tenantId], ...[...this.#tenants].map(([n, t]) => [`$tenant:${n}`, t.tenant.tenantId] as [string, string])]);
  }

  async #connect(name: string): Promise<ProtocolOutcome> {
    const entry = this.#tenants.get(name)!;
    const t = entry.tenant;
    const first = [...this.#tenants.values()].every((x) => !x.connected);
    const result = await this.#provider.connectTenant(this.productAccount, { tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret }, first ? { scheduleEveryMs: SCHEDULE_EVERY_MS } : {});
    if (result.ok) entry.connected = true;
    return result;
  }

  get tenantId(): string {
    return this.#tenant.tenantId;
  }

  now(): Date {
    return this.#parts.gateway.control.clock.now(this.accounts.customer);
  }

  async advance(ms: number): Promise<void> {
    for (const role of ACCOUNT_ROLES) await this.#parts.gateway.control.clock.advance(ms, this.accounts[role]);
  }

  async setup(): Promise<void> {
    const declared = this.#loaded.scenario.tenants ?? { main: { ...(this.#loaded.scenario.tenant ?? { users: 10 }), connected: true } };
    for (const [i, [name, spec]] of Object.entries(declared).entries()) {
      // The first tenant keeps the scenario's seed, so single-tenant scenarios get the tenant they always had.
      const seed = i === 0 ? this.#seed : (spec.seed ?? seedOf(`${this.#loaded.scenario.id}/${name}`));
      const tenant = createMockTenant(generateTenant({ seed, referenceDate: REFERENCE_DATE, users: spec.users ?? 10 }), { clock: () => this.now() });
      this.#tenants.set(name, { tenant, connected: false });
      this.#parts.graph.registry.add(tenant);
    }
    const credentials = { accessKeyId: this.accounts.provider, secretAccessKey: 'test' };
    this.#s3 = new S3Client({ region: this.#parts.region, endpoint: this.#parts.localstackEndpoint, forcePathStyle: true, credentials });
    await this.#s3.send(new CreateBucketCommand({ Bucket: this.#bucket }));
    this.#provider = await this.#parts.provider.open({
      accountId: this.accounts.provider,
      region: this.#parts.region,
      kms: { endpoint: this.#parts.gateway.endpoint, credentials },
      s3: { endpoint: this.#parts.localstackEndpoint, bucket: this.#bucket, credentials },
      graph: { endpoint: this.#parts.graph.url },
      now: () => this.now(),
    });
    for (const [name, spec] of Object.entries(declared)) {
      if (!spec.connected) continue;
      const connected = await this.#connect(name);
      if (!connected.ok) throw new Error(`the provider refused to connect tenant ${name}: ${connected.failure.code}: ${connected.failure.message}`);
    }
    this.#nextDue = this.now().getTime() + SCHEDULE_EVERY_MS;
    this.#auditSince();
  }

  async teardown(): Promise<void> {
    if (Date.now() < this.#frozenUntil) this.#thaw();
    for (const name of this.#toxics) this.#parts.gateway.control.toxics.remove(name);
    for (const { tenant } of this.#tenants.values()) this.#parts.graph.registry.remove(tenant.tenantId);
    this.#admin.close();
    await this.#provider?.close().catch(() => undefined);
    if (this.#s3 === undefined) return;
    if (this.#parts.secrets !== undefined) await this.#scanStore(this.#parts.secrets).catch(() => undefined);
    await this.#emptyBucket().catch(() => undefined);
    this.#s3.destroy();
  }

  /** Everything the provider stored in its bucket, and every file it handed out, searched for the run's keys. */
  async #scanStore(secrets: SecretScanner): Promise<void> {
    for (let token: string | undefined, first = true; first || token !== undefined; first = false) {
      const listed = await this.#s3.send(new ListObjectsV2Command({ Bucket: this.#bucket, ...(token === undefined ? {} : { ContinuationToken: token }) }));
      for (const c of listed.Contents ?? []) {
        const object = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: c.Key! }));
        secrets.scan(`s3://${this.#bucket}/${c.Key!}`, await object.Body!.transformToByteArray());
      }
      token = listed.NextContinuationToken;
    }
    for (const d of this.#downloads) secrets.scan(`${d.name} of ${this.#loaded.scenario.id}`, d.zip);
  }

  async #emptyBucket(): Promise<void> {
    const Bucket = this.#bucket;
    for (;;) {
      const listed = await this.#s3.send(new ListObjectsV2Command({ Bucket }));
      const keys = (listed.Contents ?? []).map((c) => ({ Key: c.Key! }));
      if (keys.length === 0) break;
      await this.#s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }));
    }
    await this.#s3.send(new DeleteBucketCommand({ Bucket }));
  }

  /** KMS calls of this scenario's accounts since the last look, in the scenario's terms. */
  #auditSince(): KmsCall[] {
    const mine = new Set(Object.values(this.accounts));
    const names = new Map([...this.#admin.keys].map(([name, k]) => [k.arn, name]));
    const roleOf = new Map(ACCOUNT_ROLES.map((r) => [this.accounts[r], r]));
    const calls: KmsCall[] = [];
    for (const e of this.#parts.gateway.control.audit.query({ callerAccount: undefined })) {
      if (!mine.has(e.userIdentity.accountId) || this.#seen.has(e.eventID)) continue;
      this.#seen.add(e.eventID);
      calls.push(toCall(e, roleOf.get(e.userIdentity.accountId) ?? 'other', names));
    }
    return calls;
  }

  async run(): Promise<ScenarioResult> {
    const started = performance.now();
    const { scenario, file } = this.#loaded;
    const steps: StepResult[] = [];
    let failed = false;
    let skippedWhy: string | undefined;
    const missing = this.missingCapabilities();
    if (missing.length > 0) {
      const info = this.#parts.provider.info;
      return { ...this.#result(started, []), status: 'not-applicable', reason: `the provider under test (${info.name} ${info.version}) does not declare ${missing.map((c) => `capability ${c}`).join(' or ')}` };
    }
    try {
      await this.setup();
    } catch (error) {
      return this.#result(started, [{ title: 'set up the scenario world', status: 'error', kmsCalls: [], error: message(error) }]);
    }
    try {
      for (const [i, step] of scenario.steps.entries()) {
        const line = this.#loaded.stepLines[i];
        const at = line === undefined ? {} : { line };
        if (failed) {
          steps.push({ title: step.title, status: 'skipped', kmsCalls: [], error: skippedWhy === undefined ? 'an earlier step failed' : 'an earlier step could not run here', ...at });
          continue;
        }
        const t = performance.now();
        let status: StepResult['status'] = 'passed';
        let error: string | undefined;
        try {
          error = await this.#step(step);
          if (error !== undefined) status = 'failed';
        } catch (e) {
          status = e instanceof NotApplicable ? 'skipped' : 'error';
          error = e instanceof NotApplicable ? `not applicable here: ${e.message}` : message(e);
        }
        const kmsCalls = this.#auditSince();
        const checked = status === 'passed' ? checkAudit(step.expect?.audit, kmsCalls, this.#tenantIds()) : undefined;
        if (checked !== undefined) {
          status = 'failed';
          error = checked;
        }
        failed = status !== 'passed';
        if (status === 'skipped') skippedWhy = error;
        steps.push({ title: step.title, status, kmsCalls, durationMs: Math.round(performance.now() - t), ...(error === undefined ? {} : { error: `${file}:${line ?? '?'}: ${error}` }), ...at });
      }
    } finally {
      await this.teardown();
    }
    return this.#result(started, steps, skippedWhy !== undefined);
  }

  #result(started: number, steps: StepResult[], skipped = false): ScenarioResult {
    const { scenario, file } = this.#loaded;
    return {
      id: scenario.id,
      title: scenario.title,
      file,
      line: this.#loaded.line,
      ...(scenario.tags === undefined || scenario.tags.length === 0 ? {} : { tags: [...scenario.tags] }),
      status: skipped && steps.every((s) => s.status === 'passed' || s.status === 'skipped') ? 'skipped' : steps.every((s) => s.status === 'passed') ? 'passed' : 'failed',
      rules: scenario.rules,
      durationMs: Math.round(performance.now() - started),
      steps,
      transitions: [...new Set(this.#transitions)],
      ...(Object.keys(this.#tally).length === 0 ? {} : { reliability: this.#tally }),
    };
  }

  /** Carries out one step; returns why its expectations failed, if they did. */
  async #step(step: Step): Promise<string | undefined> {
    this.#lastDownload = undefined;
    const faults = this.#activeFaults();
    const counting = step.action.startsWith('workflow.') && faults.length > 0;
    const before =
      step.expect?.data?.noNewSnapshot === true || counting ? (await this.#provider.snapshots(this.productAccount)).length : 0;
    const outcome = await this.#act(step);
    this.#mirror(step, outcome);
    if (counting) {
      const committed = (await this.#provider.snapshots(this.productAccount)).length - before;
      const partial = !outcome.ok && committed > 0;
      for (const fault of faults) {
        const t = (this.#tally[fault] ??= { attempted: 0, succeeded: 0, failedCleanly: 0, failedBadly: 0, lost: 0 });
        t.attempted++;
        if (outcome.ok) t.succeeded++;
        else if (!partial && (outcome.failure.kind === 'transient' || outcome.failure.kind === 'revocation')) t.failedCleanly++;
        else t.failedBadly++;
        if (partial) t.lost++;
      }
    }
    const expect = step.expect;
    const wrong = checkOutcome(expect, outcome);
    if (wrong !== undefined) return wrong;
    if (expect?.status !== undefined) {
      const problem = this.#checkStatus(expect.status, await this.#provider.view(this.productAccount));
      if (problem !== undefined) return problem;
    }
    const data = expect?.data;
    if (data?.noNewSnapshot === true) {
      const after = (await this.#provider.snapshots(this.productAccount)).length;
      if (after !== before) return `expected no new snapshot, but ${after - before} complete snapshot(s) appeared`;
    }
    if (data?.tenantEquals !== undefined) {
      const snap = this.#snapshot(data.tenantEquals);
      const problem = checkTenantEquals(data.tenantEquals, snap.state, this.#tenantNamed(snap.tenant).directory.state());
      if (problem !== undefined) return problem;
    }
    if (data?.downloadContains !== undefined || data?.downloadEntities !== undefined) {
      const problem = this.#checkDownload(data.downloadContains, data.downloadEntities);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  #checkStatus(want: NonNullable<NonNullable<Step['expect']>['status']>, view: Awaited<ReturnType<ProviderSession['view']>>): string | undefined {
    const got: Record<string, unknown> = {
      ekmSection: view.ekmSection,
      providerAccountShown: view.providerAccountId === this.accounts.provider,
      key: view.keyArn,
      externalKeyManagement: view.externalKeyManagement,
      cloudKeyManagement: view.cloudKeyManagement,
      updateInProgress: view.updateInProgress,
    };
    if (want.unrecoverableSnapshots !== undefined) {
      const expected = want.unrecoverableSnapshots.map((name) => this.#snapshot(name).id).sort();
      const listed = [...(view.unrecoverableSnapshots ?? [])].sort();
      if (JSON.stringify(expected) !== JSON.stringify(listed)) {
        const names = new Map([...this.#snapshots].map(([name, r]) => [r.id, name]));
        return `expected the console to list the unrecoverable snapshots ${want.unrecoverableSnapshots.join(', ') || 'none'}, it lists ${listed.map((id) => names.get(id) ?? id).join(', ') || 'none'}`;
      }
    }
    for (const [field, value] of Object.entries(want)) {
      if (value === undefined || field === 'unrecoverableSnapshots') continue;
      const expected = field === 'key' ? this.#admin.key(value as string).arn : value;
      if (got[field] !== expected) {
        const shown = field === 'key' ? `${String(got[field] ?? 'no key')}` : String(got[field]);
        return `expected status ${field} ${field === 'key' ? `${String(value)} (${String(expected)})` : String(value)}, the console shows ${shown}`;
      }
    }
    return undefined;
  }

  #checkDownload(contains: string | undefined, entities: readonly string[] | undefined): string | undefined {
    if (this.#lastDownload === undefined) return 'expected a downloaded file, but this step downloaded nothing';
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(this.#lastDownload);
    } catch (error) {
      return `the download is not a readable zip file (${error instanceof Error ? error.message : String(error)})`;
    }
    const ids = new Set<string>();
    for (const [name, data] of Object.entries(entries)) {
      if (!name.endsWith('.json')) continue;
      let objects: unknown;
      try {
        objects = JSON.parse(new TextDecoder().decode(data));
      } catch {
        return `the download's ${name} is not JSON`;
      }
      // Entity files are JSON arrays of directory objects; anything else (a manifest, links) is not an entity list.
      if (!Array.isArray(objects)) continue;
      for (const o of objects) if (typeof (o as { id?: unknown })?.id === 'string') ids.add((o as { id: string }).id);
    }
    const wanted: { what: string; id: string }[] = [];
    if (contains !== undefined) {
      const state = this.#snapshot(contains).state;
      for (const objects of Object.values(state.objects)) for (const o of objects) wanted.push({ what: `${o.id}`, id: o.id });
    }
    for (const name of entities ?? []) wanted.push({ what: name, id: this.#entity(name).id });
    const missing = wanted.filter((w) => !ids.has(w.id));
    return missing.length === 0
      ? undefined
      : `the download lacks ${missing.length} of ${wanted.length} expected entities (${missing.slice(0, 5).map((m) => m.what).join(', ')})`;
  }

  #snapshot(name: string): SnapshotRecord {
    const s = this.#snapshots.get(name);
    if (s === undefined) throw new StepError(`snapshot ${name} was not taken (its backup did not succeed)`);
    return s;
  }

  #entity(name: string): NamedEntity {
    const e = this.#entities.get(name);
    if (e === undefined) throw new StepError(`no entity named ${name} was added in this scenario`);
    return e;
  }

  #arn(target: { key?: string | undefined; arn?: string | undefined; alias?: string | undefined }): string {
    if (target.key !== undefined) return this.#admin.key(target.key).arn;
    if (target.alias !== undefined) return this.#admin.aliasArn(target.alias);
    return target.arn!.replace(/\$\{(customer|provider|other|region|key:([A-Za-z][A-Za-z0-9_-]*))\}/g, (_, what: string, key?: string) => {
      if (key !== undefined) return this.#admin.key(key).arn;
      if (what === 'region') return this.#parts.region;
      return this.accounts[what as AccountRole];
    });
  }

  /** A console or support command: its outcome in the harness's terms, observed by the model. */
  #command(command: AccountCommand, result: ProtocolOutcome): Outcome {
    this.#account.observe(command, result.ok);
    return asOutcome(result);
  }

  /** Key administration refusals as the customer would read them. */
  async #administer(work: () => Promise<void>): Promise<Outcome> {
    try {
      await work();
      return { ok: true };
    } catch (error) {
      if (error instanceof StepError) throw error;
      return { ok: false, failure: awsFailure(error) };
    }
  }

  async #act(step: Step): Promise<Outcome> {
    const p = this.#provider;
    const acct = this.productAccount;
    switch (step.action) {
      case 'support.activate':
        return this.#command({ type: 'activate' }, await p.activate(acct));
      case 'console.submitKey': {
        const input = this.#arn(step.args);
        return this.#command({ type: 'submitArn', input }, await p.submitKey(acct, input));
      }
      case 'console.showTerms':
        return this.#command({ type: 'showTerms' }, await p.showTerms(acct));
      case 'console.acceptTerms': {
        // The console shows the terms (Continue) before the customer can agree (Yes, I Agree).
        if (this.#account.phase === 'arnValidated') {
          const shown = this.#command({ type: 'showTerms' }, await p.showTerms(acct));
          if (!shown.ok) return shown;
        }
        return this.#command({ type: 'acceptTerms' }, await p.acceptTerms(acct));
      }
      case 'console.declineTerms':
        return this.#command({ type: 'declineTerms' }, await p.declineTerms(acct));
      case 'console.abandon':
        return this.#command({ type: 'declineTerms' }, await p.abandon(acct));
      case 'console.enable': {
        const input = this.#arn(step.args);
        const submitted = this.#command({ type: 'submitArn', input }, await p.submitKey(acct, input));
        if (!submitted.ok) return submitted;
        const shown = this.#command({ type: 'showTerms' }, await p.showTerms(acct));
        if (!shown.ok) return shown;
        return this.#command({ type: 'acceptTerms' }, await p.acceptTerms(acct));
      }
      case 'console.updateKey': {
        const input = this.#arn(step.args);
        const started = await p.updateKey(acct, input, { complete: step.args.complete });
        const outcome = this.#command({ type: 'updateKey', input }, started);
        // A completed update is the model's two moves: validated, then the rewrap.
        if (started.ok && step.args.complete) this.#account.observe({ type: 'completeUpdate' }, true);
        if (!started.ok && step.args.complete && this.#account.phase === 'updating') this.#account.observe({ type: 'completeUpdate' }, false);
        return outcome;
      }
      case 'console.completeUpdate':
        return this.#command({ type: 'completeUpdate' }, await p.completeUpdate(acct));
      case 'console.status':
        await p.view(acct);
        return { ok: true };
      case 'console.returnToCloudKms':
        return this.#command({ type: 'returnToCloudKms' }, await p.returnToCloudKms(acct));

      case 'admin.createKey': {
        const a = step.args;
        return this.#administer(async () => void (await this.#admin.createKey({ key: a.key, spec: a.spec, usage: a.usage, origin: a.origin, multiRegion: a.multiRegion, region: a.region, allow: a.allow })));
      }
      case 'admin.replicateKey':
        return this.#administer(() => this.#admin.replicateKey(step.args));
      case 'admin.importKeyMaterial': {
        const a = step.args;
        const expiresAt = a.expiresIn === undefined ? undefined : new Date(this.now().getTime() + durationMs(a.expiresIn));
        return this.#administer(() => this.#admin.importKeyMaterial({ key: a.key, material: a.material, expiresAt }));
      }
      case 'admin.deleteImportedKeyMaterial':
        return this.#administer(() => this.#admin.deleteImportedKeyMaterial(step.args.key));
      case 'admin.putKeyPolicy':
        return this.#administer(() => this.#admin.putKeyPolicy({ ...step.args, fill: { tenant: this.#tenant.tenantId, tenants: Object.fromEntries([...this.#tenants].map(([n, t]) => [n, t.tenant.tenantId])), dir: dirname(resolve(this.#loaded.file)) } }));
      case 'admin.createAlias':
        return this.#administer(() => this.#admin.createAlias(step.args));
      case 'admin.updateAlias':
        return this.#administer(() => this.#admin.updateAlias(step.args));
      case 'admin.deleteAlias':
        return this.#administer(() => this.#admin.deleteAlias(step.args.alias));
      case 'admin.editKeyPolicy':
        return this.#administer(() => this.#admin.editKeyPolicy(step.args));
      case 'admin.createGrant':
        return this.#administer(() => this.#admin.createGrant(step.args));
      case 'admin.revokeGrant':
        return this.#administer(() => this.#admin.revokeGrant(step.args));
      case 'admin.disableKey':
        return this.#administer(() => this.#admin.disableKey(step.args.key));
      case 'admin.enableKey':
        return this.#administer(() => this.#admin.enableKey(step.args.key));
      case 'admin.scheduleKeyDeletion':
        return this.#administer(() => this.#admin.scheduleKeyDeletion(step.args));
      case 'admin.cancelKeyDeletion':
        return this.#administer(() => this.#admin.cancelKeyDeletion(step.args.key));
      case 'admin.rotateKey':
        return this.#administer(() => this.#admin.rotateKey(step.args.key));
      case 'admin.enableKeyRotation':
        return this.#administer(() => this.#admin.enableKeyRotation(step.args));

      case 'tenant.add': {
        const kind = KIND_OF[step.args.kind]!;
        const directory = this.#tenantNamed(step.args.tenant).directory;
        const entity = newEntity(directory, kind, step.args.name, String(this.#seed), step.args.properties);
        directory.add(kind, entity as never);
        this.#entities.set(step.args.name, { kind, id: entity.id });
        this.#entityTenant.set(step.args.name, step.args.tenant ?? this.#defaultTenant());
        return { ok: true };
      }
      case 'tenant.update': {
        const e = this.#entity(step.args.name);
        this.#tenantNamed(this.#entityTenant.get(step.args.name)).directory.update(e.kind, e.id, step.args.properties);
        return { ok: true };
      }
      case 'tenant.remove': {
        const e = this.#entity(step.args.name);
        this.#tenantNamed(this.#entityTenant.get(step.args.name)).directory.remove(e.kind, e.id, this.now());
        return { ok: true };
      }
      case 'tenant.connect': {
        const entry = this.#tenants.get(step.args.tenant);
        if (entry === undefined) throw new StepError(`no tenant named ${step.args.tenant} in this scenario`);
        if (entry.connected) throw new StepError(`tenant ${step.args.tenant} is connected already (declare it with connected: false)`);
        return asOutcome(await this.#connect(step.args.tenant));
      }
      case 'tenant.drift':
        drift(this.#tenantNamed(step.args.tenant).directory, step.args.changes, step.args.seed ?? this.#seed + this.#transitions.length, this.now());
        return { ok: true };

      case 'workflow.scheduledBackup': {
        const wait = this.#nextDue - this.now().getTime();
        if (wait > 0) await this.advance(wait);
        // Every connected tenant is backed up, in the order they were connected (the protocol's order of results).
        const connected = [...this.#tenants].filter(([, t]) => t.connected);
        const states = connected.map(([, t]) => t.tenant.directory.state());
        const at = this.now();
        const results = await p.runScheduled(acct, at);
        while (this.#nextDue <= at.getTime()) this.#nextDue += SCHEDULE_EVERY_MS;
        const wanted = step.args.tenant ?? this.#defaultTenant();
        let mine: Outcome | undefined;
        for (const [i, [name]] of connected.entries()) {
          const result = results[i];
          if (result === undefined) continue;
          const outcome = this.#backupOutcome('scheduledBackup', result, name === wanted ? step.args.snapshot : undefined, states[i]!, name);
          if (name === wanted) mine = outcome;
        }
        if (mine === undefined) throw new StepError(`the provider ran no scheduled backup of tenant ${wanted} although one was due (${results.length} result(s) for ${connected.length} connected tenant(s))`);
        return mine;
      }
      case 'workflow.manualBackup': {
        const name = step.args.tenant ?? this.#defaultTenant();
        const tenant = this.#tenantNamed(name);
        const state = tenant.directory.state();
        return this.#backupOutcome('manualBackup', await p.backup(acct, { tenantId: tenant.tenantId }), step.args.snapshot, state, name);
      }
      case 'workflow.restore': {
        const snap = step.args.snapshot === undefined ? undefined : this.#snapshot(step.args.snapshot);
        const name = step.args.tenant ?? snap?.tenant ?? this.#defaultTenant();
        const entities = step.args.entities?.map((n) => this.#entity(n));
        const result = await p.restore(acct, { tenantId: this.#tenantNamed(name).tenantId, ...(snap === undefined ? {} : { snapshot: snap.id }), ...(entities === undefined ? {} : { entities }) });
        if (name === this.#defaultTenant()) this.#account.observe({ type: 'restore', ...(snap === undefined ? {} : { snapshotId: snap.id }) }, result.ok);
        return asOutcome(result);
      }
      case 'workflow.download': {
        const snap = step.args.snapshot === undefined ? undefined : this.#snapshot(step.args.snapshot);
        const name = step.args.tenant ?? snap?.tenant ?? this.#defaultTenant();
        const result = await p.download(acct, { tenantId: this.#tenantNamed(name).tenantId, ...(snap === undefined ? {} : { snapshot: snap.id }) });
        if (name === this.#defaultTenant()) this.#account.observe({ type: 'download', ...(snap === undefined ? {} : { snapshotId: snap.id }) }, result.ok);
        if (result.ok) this.#downloads.push({ name: `download ${this.#downloads.length + 1}`, zip: result.zip });
        this.#lastDownload = result.ok ? result.zip : undefined;
        return asOutcome(result);
      }

      case 'store.tamper': {
        const tamper = p.tamper;
        if (tamper === undefined) throw new NotApplicable('the provider under test does not declare capability store.tamper');
        const done = await tamper.call(p, acct, this.#snapshot(step.args.snapshot).id, step.args.mode);
        if (!done.ok) throw new StepError(`the provider could not tamper with snapshot ${step.args.snapshot}: ${done.failure.message}`);
        return { ok: true };
      }

      case 'fault.kms': {
        const a = step.args;
        const name = `${this.accounts.provider}:${a.fault ?? `kms-${this.#toxics.size + 1}`}`;
        const latency = a.latency === undefined ? undefined : durationMs(a.latency);
        this.#parts.gateway.control.toxics.add({
          name,
          type: TOXIC[a.toxic]!,
          toxicity: a.probability,
          account: this.accounts[a.from ?? 'provider'],
          ...(a.operations === undefined ? {} : { operations: [...a.operations] }),
          ...(a.times === undefined ? {} : { times: a.times }),
          ...(a.toxic === 'latency' ? { latencyMs: latency ?? 200, jitterMs: 0 } : {}),
          // A hung call is dropped after a second, so the provider's retries, not the clock, decide.
          ...(a.toxic === 'timeout' ? { timeoutMs: latency ?? 1000 } : {}),
        });
        this.#toxics.add(name);
        this.#faults.set(name, `kms-${a.toxic}`);
        return { ok: true };
      }
      case 'fault.graph': {
        const a = step.args;
        const retryAfter = a.retryAfter === undefined ? 1 : Math.max(1, Math.round(durationMs(a.retryAfter) / 1000));
        const faulted = this.#tenantNamed(a.tenant);
        faulted.faults.scope({ ...(a.after === undefined ? {} : { after: a.after }), ...(a.endpoint === undefined ? {} : { path: a.endpoint }) });
        if (a.status === 429) faulted.faults.throttleNext(a.times, retryAfter);
        else faulted.faults.unavailableNext(a.times, retryAfter);
        this.#faults.set(`graph:${a.fault ?? 'graph'}`, `graph-${a.status}`);
        return { ok: true };
      }
      case 'fault.localstack': {
        const pid = this.#parts.localstackPid;
        if (pid === undefined) {
          throw new NotApplicable(`fault.localstack needs a LocalStack this run started (host mode, or under ekm-localstack run); this run uses one at ${this.#parts.localstackEndpoint}`);
        }
        const ms = durationMs(step.args.freeze);
        process.kill(-pid, 'SIGSTOP');
        this.#frozenUntil = Date.now() + ms;
        setTimeout(() => this.#thaw(), ms);
        return { ok: true };
      }
      case 'fault.clear': {
        const names = step.args.fault === undefined ? [...this.#toxics] : [`${this.accounts.provider}:${step.args.fault}`];
        for (const n of names) {
          this.#parts.gateway.control.toxics.remove(n);
          this.#toxics.delete(n);
          this.#faults.delete(n);
        }
        if (step.args.fault === undefined || this.#faults.has(`graph:${step.args.fault}`)) {
          for (const { tenant } of this.#tenants.values()) tenant.faults.clear();
          for (const n of [...this.#faults.keys()]) if (n.startsWith('graph:')) this.#faults.delete(n);
        }
        return { ok: true };
      }
      case 'verify.snapshots':
        return this.#verifySnapshots();
      case 'clock.advance':
        await this.advance(durationMs(step.args.by));
        return { ok: true };
    }
  }

  /** The key operation, as the domain's key lifecycle decides it (for transition coverage). */
  #mirror(step: Step, outcome: Outcome): void {
    const keys = this.#keys;
    const arnOf = (name: string) => this.#admin.keys.get(name)?.arn;
    switch (step.action) {
      case 'admin.createKey': {
        const arn = arnOf(step.args.key);
        const k = this.#admin.keys.get(step.args.key);
        if (outcome.ok && arn !== undefined && k !== undefined) {
          keys.created(arn, { spec: step.args.spec, usage: step.args.usage ?? 'ENCRYPT_DECRYPT', origin: step.args.origin, multiRegion: step.args.multiRegion }, this.#admin.providerAllowed(step.args.key));
        }
        return;
      }
      case 'admin.putKeyPolicy':
      case 'admin.editKeyPolicy':
      case 'admin.createGrant':
      case 'admin.revokeGrant': {
        const arn = arnOf(step.args.key);
        if (arn !== undefined && outcome.ok) keys.access(arn, this.#admin.providerAllowed(step.args.key));
        return;
      }
      case 'admin.disableKey':
        return void (arnOf(step.args.key) !== undefined && keys.disabled(arnOf(step.args.key)!));
      case 'admin.enableKey':
        return void (arnOf(step.args.key) !== undefined && keys.enabled(arnOf(step.args.key)!));
      case 'admin.scheduleKeyDeletion':
        return void (arnOf(step.args.key) !== undefined && keys.deletionScheduled(arnOf(step.args.key)!, this.now().getTime() + step.args.days * 86_400_000));
      case 'admin.cancelKeyDeletion':
        return void (arnOf(step.args.key) !== undefined && keys.deletionCancelled(arnOf(step.args.key)!));
      case 'admin.importKeyMaterial': {
        const arn = arnOf(step.args.key);
        if (arn !== undefined) keys.materialImported(arn, step.args.expiresIn === undefined ? undefined : this.now().getTime() + durationMs(step.args.expiresIn));
        return;
      }
      case 'admin.deleteImportedKeyMaterial':
        return void (arnOf(step.args.key) !== undefined && keys.materialDeleted(arnOf(step.args.key)!));
      case 'admin.rotateKey':
        return void (arnOf(step.args.key) !== undefined && keys.rotated(arnOf(step.args.key)!));
      case 'clock.advance':
      case 'workflow.scheduledBackup':
        return keys.clock(this.now().getTime());
      default:
        return;
    }
  }

  #activeFaults(): string[] {
    const kinds = new Set(this.#faults.values());
    if (Date.now() < this.#frozenUntil) kinds.add('localstack-freeze');
    return [...kinds].sort();
  }

  #thaw(): void {
    this.#frozenUntil = 0;
    try {
      process.kill(-this.#parts.localstackPid!, 'SIGCONT');
    } catch {
      /* LocalStack already gone */
    }
  }

  /**
   * Nothing lost: each snapshot reported complete restores exactly to the tenant it read,
   * and the store holds no complete snapshot that a failed backup left behind.
   */
  async #verifySnapshots(): Promise<Outcome> {
    const problems: string[] = [];
    const lose = (faults: readonly string[], why: string) => {
      problems.push(why);
      for (const f of faults) (this.#tally[f] ??= { attempted: 0, succeeded: 0, failedCleanly: 0, failedBadly: 0, lost: 0 }).lost++;
    };
    const reported = new Set(this.#backups.flatMap((b) => (b.id === undefined ? [] : [b.id])));
    for (const m of (await Promise.all([...this.#tenants.values()].filter((t) => t.connected).map((t) => this.#provider.snapshots(this.productAccount, { tenantId: t.tenant.tenantId })))).flat()) {
      if (!reported.has(m.id)) lose(['unattributed'], `snapshot ${m.id} is complete in the store but its backup was reported failed`);
    }
    for (const b of this.#backups) {
      if (b.id === undefined) continue;
      const restored = await this.#provider.restore(this.productAccount, { snapshot: b.id, tenantId: this.#tenantNamed(b.tenant).tenantId });
      if (!restored.ok) {
        problems.push(`snapshot ${b.id} could not be restored: ${restored.failure.code} (${restored.failure.message})`);
        continue;
      }
      const wrong = checkTenantEquals(b.id, b.state, this.#tenantNamed(b.tenant).directory.state());
      if (wrong !== undefined) lose(b.faults, wrong);
    }
    return problems.length === 0
      ? { ok: true, message: `${reported.size} snapshot(s) restore exactly` }
      : { ok: false, failure: { code: 'DataUnrecoverable', kind: 'permanent', message: problems.join('; ') } };
  }

  #backupOutcome(workflow: 'scheduledBackup' | 'manualBackup', result: ProtocolOutcome<{ readonly snapshot: string }>, name: string | undefined, state: DirectoryState, tenant: string): Outcome {
    // The domain model is of one tenant: the default one's workflows are what it predicts.
    if (tenant === this.#defaultTenant()) this.#account.observe({ type: workflow, ...(result.ok ? { snapshotId: result.snapshot } : {}) }, result.ok);
    this.#backups.push({ ...(result.ok ? { id: result.snapshot } : {}), state, faults: this.#activeFaults(), tenant });
    if (!result.ok) return asOutcome(result);
    if (name !== undefined) this.#snapshots.set(name, { id: result.snapshot, state, tenant });
    return { ok: true };
  }

}

function toCall(e: AuditEvent, from: string, names: ReadonlyMap<string, string>): KmsCall {
  const params = (e.requestParameters ?? {}) as Record<string, unknown>;
  const context = (params['encryptionContext'] ?? params['destinationEncryptionContext']) as Record<string, string> | undefined;
  const arn = e.resources[0]?.ARN;
  const key = arn === undefined ? undefined : names.get(arn);
  const result = e.errorCode === undefined ? 'ok' : gradeAwsError(e.errorCode, e.errorMessage ?? '');
  return { operation: e.eventName, from, ...(key === undefined ? {} : { key }), ...(context === undefined ? {} : { encryptionContext: context }), result };
}

/** A protocol result in the harness's terms: the failure's kind comes from the domain's table, not the provider. */
function asOutcome(result: ProtocolOutcome): Outcome {
  if (result.ok) return { ok: true, ...(result.message === undefined ? {} : { message: result.message }) };
  const f = result.failure;
  const kind = isFailureCode(f.code) ? FAILURES[f.code].kind : 'permanent';
  return { ok: false, failure: { code: f.code, kind, message: f.message, ...(f.field === undefined ? {} : { field: f.field }) } as Failure };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
