/**
 * One scenario in the world: its own accounts (provider, customer, other), its own
 * provider bucket, tenant and keys, on the run's shared LocalStack, gateway and MSW
 * server. Steps are carried out the way the console, the scheduler, support and the
 * customer's key administrator would (`./actions/`, one handler per action), and checked
 * against their expectations.
 */
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createMockTenant, generateTenant } from '@ekm/entra-mock';
import type { Capability } from '@ekm/protocol';
import type { AuditEvent } from '@ekm/kms-gateway';
import { ACCOUNT_ROLES, type Step } from '../format.ts';
import type { LoadedScenario } from '../load.ts';
import type { KmsCall, ScenarioResult, StepResult } from '../results.ts';
import type { SecretScanner } from '../secrets.ts';
import { act } from './actions/index.ts';
import { gradeAwsError } from './aws-errors.ts';
import { checkDownload, checkStatus } from './checks.ts';
import { checkAudit, checkOutcome, checkTenantEquals, type Outcome } from './expect.ts';
import { NotApplicable, Scene, SCHEDULE_EVERY_MS, seedOf, type WorldParts } from './scene.ts';

export type { WorldParts } from './scene.ts';
export { durationMs } from './scene.ts';

const REFERENCE_DATE = new Date('2026-01-01T00:00:00Z');
/** How long held work may take to reach its pause point (real time: the work is running, not waiting on the clock). */
const HOLD_TIMEOUT_MS = 30_000;

export class ScenarioRun {
  readonly #scene: Scene;
  readonly #seen = new Set<string>();

  constructor(parts: WorldParts, loaded: LoadedScenario) {
    this.#scene = new Scene(parts, loaded);
  }

  get accounts(): Scene['accounts'] {
    return this.#scene.accounts;
  }

  get productAccount(): string {
    return this.#scene.account;
  }

  get tenantId(): string {
    return this.#scene.tenant.tenantId;
  }

  now(): Date {
    return this.#scene.now();
  }

  advance(ms: number): Promise<void> {
    return this.#scene.advance(ms);
  }

  /** Capabilities the scenario needs that the provider under test does not declare. */
  missingCapabilities(): Capability[] {
    const needed = new Set<Capability>();
    const visit = (step: Step): void => {
      if (step.action === 'store.tamper') needed.add('store.tamper');
      if (step.action === 'console.updateKey' && step.args.complete === false) needed.add('update.inProgress');
      if (step.action === 'fault.provider') needed.add('provider.crash');
      if (step.during !== undefined) needed.add('workflow.pause');
      for (const inner of step.during?.steps ?? []) visit(inner);
    };
    for (const step of this.#scene.loaded.scenario.steps) visit(step);
    const declared = new Set(this.#scene.parts.provider.info.capabilities);
    return [...needed].filter((c) => !declared.has(c)).sort();
  }

  async setup(): Promise<void> {
    const s = this.#scene;
    const { scenario } = s.loaded;
    const declared = scenario.tenants ?? { main: { ...(scenario.tenant ?? { users: 10 }), connected: true } };
    for (const [i, [name, spec]] of Object.entries(declared).entries()) {
      // The first tenant keeps the scenario's seed, so single-tenant scenarios get the tenant they always had.
      const seed = i === 0 ? s.seed : (spec.seed ?? seedOf(`${scenario.id}/${name}`));
      const tenant = createMockTenant(generateTenant({ seed, referenceDate: REFERENCE_DATE, users: spec.users ?? 10 }), { clock: () => s.now() });
      s.tenants.set(name, { tenant, connected: false });
      s.parts.graph.registry.add(tenant);
    }
    const credentials = { accessKeyId: s.accounts.provider, secretAccessKey: 'test' };
    s.s3 = new S3Client({ region: s.parts.region, endpoint: s.parts.localstackEndpoint, forcePathStyle: true, credentials });
    await s.s3.send(new CreateBucketCommand({ Bucket: s.bucket }));
    s.provider = await s.parts.provider.open({
      accountId: s.accounts.provider,
      region: s.parts.region,
      kms: { endpoint: s.parts.gateway.endpoint, credentials },
      s3: { endpoint: s.parts.localstackEndpoint, bucket: s.bucket, credentials },
      graph: { endpoint: s.parts.graph.url },
      now: () => s.now(),
    });
    for (const [name, spec] of Object.entries(declared)) {
      if (!spec.connected) continue;
      const connected = await s.connect(name);
      if (!connected.ok) throw new Error(`the provider refused to connect tenant ${name}: ${connected.failure.code}: ${connected.failure.message}`);
    }
    s.nextDue = s.now().getTime() + SCHEDULE_EVERY_MS;
    this.#auditSince();
  }

  async teardown(): Promise<void> {
    const s = this.#scene;
    if (Date.now() < s.frozenUntil) s.thaw();
    for (const name of s.toxics) s.parts.gateway.control.toxics.remove(name);
    for (const { tenant } of s.tenants.values()) s.parts.graph.registry.remove(tenant.tenantId);
    s.admin.close();
    await s.provider?.close().catch(() => undefined);
    if (s.s3 === undefined) return;
    if (s.parts.secrets !== undefined) await this.#scanStore(s.parts.secrets).catch(() => undefined);
    await this.#emptyBucket().catch(() => undefined);
    s.s3.destroy();
  }

  /** Everything the provider stored in its bucket, and every file it handed out, searched for the run's keys. */
  async #scanStore(secrets: SecretScanner): Promise<void> {
    const { s3, bucket } = this.#scene;
    for (let token: string | undefined, first = true; first || token !== undefined; first = false) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(token === undefined ? {} : { ContinuationToken: token }) }));
      for (const c of listed.Contents ?? []) {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: c.Key! }));
        secrets.scan(`s3://${bucket}/${c.Key!}`, await object.Body!.transformToByteArray());
      }
      token = listed.NextContinuationToken;
    }
    for (const d of this.#scene.downloads) secrets.scan(`${d.name} of ${this.#scene.loaded.scenario.id}`, d.zip);
  }

  async #emptyBucket(): Promise<void> {
    const { s3, bucket: Bucket } = this.#scene;
    for (;;) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
      const keys = (listed.Contents ?? []).map((c) => ({ Key: c.Key! }));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket }));
  }

  /** KMS calls of this scenario's accounts since the last look, in the scenario's terms. */
  #auditSince(): KmsCall[] {
    const s = this.#scene;
    const mine = new Set(Object.values(s.accounts));
    const names = new Map([...s.admin.keys].map(([name, k]) => [k.arn, name]));
    const roleOf = new Map(ACCOUNT_ROLES.map((r) => [s.accounts[r], r]));
    const calls: KmsCall[] = [];
    for (const e of s.parts.gateway.control.audit.query({ callerAccount: undefined })) {
      if (!mine.has(e.userIdentity.accountId) || this.#seen.has(e.eventID)) continue;
      this.#seen.add(e.eventID);
      calls.push(toCall(e, roleOf.get(e.userIdentity.accountId) ?? 'other', names));
    }
    return calls;
  }

  async run(): Promise<ScenarioResult> {
    const started = performance.now();
    const { scenario } = this.#scene.loaded;
    const steps: StepResult[] = [];
    let failed = false;
    let skippedWhy: string | undefined;
    const missing = this.missingCapabilities();
    if (missing.length > 0) {
      const info = this.#scene.parts.provider.info;
      return {
        ...this.#result(started, []),
        status: 'not-applicable',
        reason: `the provider under test (${info.name} ${info.version}) does not declare ${missing.map((c) => `capability ${c}`).join(' or ')}`,
      };
    }
    try {
      await this.setup();
    } catch (error) {
      return this.#result(started, [{ title: 'set up the scenario world', status: 'error', kmsCalls: [], error: message(error) }]);
    }
    try {
      for (const [i, step] of scenario.steps.entries()) {
        const line = this.#scene.loaded.stepLines[i];
        const at = line === undefined ? {} : { line };
        if (failed) {
          steps.push({
            title: step.title,
            status: 'skipped',
            kmsCalls: [],
            error: skippedWhy === undefined ? 'an earlier step failed' : 'an earlier step could not run here',
            ...at,
          });
          continue;
        }
        const results = await this.#execute(step, line);
        steps.push(...results);
        const last = results.find((r) => r.status !== 'passed');
        failed = last !== undefined;
        if (last?.status === 'skipped') skippedWhy = last.error;
      }
    } finally {
      await this.teardown();
    }
    return this.#result(started, steps, skippedWhy !== undefined);
  }

  /** One step, with the steps held inside it (`during`) reported before it; each with its KMS calls and expectations. */
  async #execute(step: Step, line: number | undefined): Promise<StepResult[]> {
    const file = this.#scene.loaded.file;
    const at = line === undefined ? {} : { line };
    const t = performance.now();
    const inner: StepResult[] = [];
    let status: StepResult['status'] = 'passed';
    let error: string | undefined;
    try {
      error = await this.#step(step, inner, line);
      if (error !== undefined) status = 'failed';
    } catch (e) {
      status = e instanceof NotApplicable ? 'skipped' : 'error';
      error = e instanceof NotApplicable ? `not applicable here: ${e.message}` : message(e);
    }
    const kmsCalls = this.#auditSince();
    const checked = status === 'passed' ? checkAudit(step.expect?.audit, kmsCalls, this.#scene.tenantIds()) : undefined;
    if (checked !== undefined) {
      status = 'failed';
      error = checked;
    }
    const title = step.during === undefined ? step.title : `${step.title} (held at ${step.during.at} for ${step.during.steps.length} step(s))`;
    const own: StepResult = {
      title,
      status,
      kmsCalls,
      durationMs: Math.round(performance.now() - t),
      ...(error === undefined ? {} : { error: `${file}:${line ?? '?'}: ${error}` }),
      ...at,
    };
    return [...inner, own];
  }

  /**
   * Runs `step` held at its pause point: arms the pause, starts the work, waits until it is held,
   * runs the inner steps, resumes it and waits for its end. The model takes the held work's move
   * first and the inner steps' after it (see Scene.deferred).
   */
  async #held(step: Step, inner: StepResult[], line: number | undefined): Promise<Outcome> {
    const s = this.#scene;
    const during = step.during!;
    const p = s.provider;
    if (p.pause === undefined || p.paused === undefined || p.resume === undefined)
      throw new NotApplicable('the provider under test does not declare capability workflow.pause');
    const armed = await p.pause(s.account, during.at);
    if (!armed.ok) throw new Error(`the provider could not hold work at ${during.at}: ${armed.failure.message}`);
    const work = act(s, step).then(
      (outcome) => ({ outcome }),
      (error: unknown) => ({ error }),
    );
    const held = p.paused(s.account, during.at, HOLD_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
    if (!(await Promise.race([work.then(() => false), held]))) {
      const ended = await work;
      if ('error' in ended) throw ended.error;
      return {
        ok: false,
        failure: {
          code: 'NotHeld' as never,
          kind: 'permanent',
          message: `the work ended (${ended.outcome.ok ? 'ok' : ended.outcome.failure.code}) without reaching pause point ${during.at}`,
        },
      };
    }
    const queue: (() => void)[] = [];
    s.deferred = queue;
    try {
      // Held steps are reported at their step's line: the loader keeps lines of top-level steps only.
      for (const innerStep of during.steps)
        inner.push(...(await this.#execute({ ...innerStep, title: `during ${during.at}: ${innerStep.title}` } as Step, line)));
    } finally {
      s.deferred = undefined;
      const resumed = await p.resume(s.account, during.at);
      if (!resumed.ok) inner.push({ title: `resume at ${during.at}`, status: 'error', kmsCalls: [], error: resumed.failure.message });
    }
    const ended = await work;
    for (const move of queue) move();
    if ('error' in ended) throw ended.error;
    return ended.outcome;
  }

  #result(started: number, steps: StepResult[], skipped = false): ScenarioResult {
    const s = this.#scene;
    const { scenario, file } = s.loaded;
    return {
      id: scenario.id,
      title: scenario.title,
      file,
      line: s.loaded.line,
      ...(scenario.tags === undefined || scenario.tags.length === 0 ? {} : { tags: [...scenario.tags] }),
      status:
        skipped && steps.every((x) => x.status === 'passed' || x.status === 'skipped')
          ? 'skipped'
          : steps.every((x) => x.status === 'passed')
            ? 'passed'
            : 'failed',
      rules: scenario.rules,
      durationMs: Math.round(performance.now() - started),
      steps,
      transitions: [...new Set(s.transitions)],
      ...(Object.keys(s.tally).length === 0 ? {} : { reliability: s.tally }),
    };
  }

  /** Carries out one step; returns why its expectations failed, if they did. */
  async #step(step: Step, inner: StepResult[], line: number | undefined): Promise<string | undefined> {
    const s = this.#scene;
    s.lastDownload = undefined;
    const faults = s.activeFaults();
    const counting = step.action.startsWith('workflow.') && faults.length > 0;
    const before = step.expect?.data?.noNewSnapshot === true || counting ? (await s.provider.snapshots(s.account)).length : 0;
    const outcome = step.during === undefined ? await act(s, step) : await this.#held(step, inner, line);
    if (counting) {
      const committed = (await s.provider.snapshots(s.account)).length - before;
      const partial = !outcome.ok && committed > 0;
      for (const fault of faults) {
        const t = s.tallyOf(fault);
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
      const problem = checkStatus(s, expect.status, await s.provider.view(s.account));
      if (problem !== undefined) return problem;
    }
    const data = expect?.data;
    if (data?.noNewSnapshot === true) {
      const after = (await s.provider.snapshots(s.account)).length;
      if (after !== before) return `expected no new snapshot, but ${after - before} complete snapshot(s) appeared`;
    }
    if (data?.tenantEquals !== undefined) {
      const snap = s.snapshot(data.tenantEquals);
      const problem = checkTenantEquals(data.tenantEquals, snap.state, s.tenantNamed(snap.tenant).directory.state());
      if (problem !== undefined) return problem;
    }
    if (data?.downloadContains !== undefined || data?.downloadEntities !== undefined) {
      const problem = checkDownload(s, data.downloadContains, data.downloadEntities);
      if (problem !== undefined) return problem;
    }
    return undefined;
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

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
