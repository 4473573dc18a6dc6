/**
 * The reference provider behind `ekm.provider/v1`: a thin adapter from the protocol's
 * operations to `Provider`. This is all the conformance suite sees of it; the suite reaches
 * any other provider through the same operations (in process, or over HTTP with `serve.ts`).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL, type ConsoleView, type Environment, type Outcome, type ProviderBinding, type ProviderInfo, type ProviderSession } from '@ekm/protocol';
import { Provider, type CommandResult, type ProviderOptions, type WorkflowFailed } from '../src/provider.ts';
import { S3Bucket } from '../src/bucket.ts';
import { Points } from './points.ts';
import { Tamperer } from './tamper.ts';

const VERSION = '0.1.0';

export const REFERENCE_INFO: ProviderInfo = {
  protocol: PROTOCOL,
  name: '@ekm/backup',
  version: VERSION,
  capabilities: ['store.tamper', 'update.inProgress', 'workflow.pause', 'provider.crash'],
};

export interface ReferenceOptions {
  /** Decorates the provider's key port (e.g. `staleTenantKeyCache` from `@ekm/backup/testing`, the explorer's planted bug). */
  readonly wrapKeyPort?: ProviderOptions['wrapKeyPort'];
  /** Learns every plaintext key the provider handles, for the secret scan. */
  readonly onKeyMaterial?: ProviderOptions['onKeyMaterial'];
  /** Extra provider options (crash hooks). */
  readonly provider?: Partial<Pick<ProviderOptions, 'wrapKeyPort' | 'onKeyMaterial' | 'hooks' | 'updateHooks'>>;
  readonly info?: Partial<ProviderInfo>;
}

export function referenceProvider(options: ReferenceOptions = {}): ProviderBinding {
  return {
    info: { ...REFERENCE_INFO, ...options.info },
    open: (environment) => openSession(environment, options),
  };
}

function outcome(r: CommandResult): Outcome {
  return r.ok ? { ok: true, message: r.message } : { ok: false, failure: r.failure, ...(r.findings.length > 1 ? { findings: r.findings } : {}) };
}

function failed(r: WorkflowFailed): Outcome<never> {
  return { ok: false, failure: r.failure };
}

async function openSession(env: Environment, options: ReferenceOptions): Promise<ProviderSession> {
  const points = new Points();
  // Opening again on the same bucket and keys is a restart: everything the provider knows is in its store.
  const start = async () => {
    const provider = await Provider.open({
      accountId: env.accountId,
      region: env.region,
      kmsEndpoint: env.kms.endpoint,
      kmsCredentials: env.kms.credentials,
      s3Endpoint: env.s3.endpoint,
      s3Credentials: env.s3.credentials,
      bucketName: env.s3.bucket,
      clock: env.now,
      // Graph's Retry-After is honoured by count, not by waiting: time is the harness's clock,
      // which does not move while a workflow runs.
      graph: { fetch: graphFetch(env.graph.endpoint), sleep: async () => {} },
      ...(options.wrapKeyPort === undefined ? {} : { wrapKeyPort: options.wrapKeyPort }),
      ...(options.onKeyMaterial === undefined ? {} : { onKeyMaterial: options.onKeyMaterial }),
      ...options.provider,
      ...points.hooks(options.provider ?? {}),
    });
    const bucket = await S3Bucket.open({ endpoint: env.s3.endpoint, region: env.region, credentials: env.s3.credentials, bucket: env.s3.bucket });
    return { p: provider, tamperer: new Tamperer(provider, bucket) };
  };
  let current = await start();
  let downloads: string | undefined;
  // Every call runs guarded: a crash rejects the calls in flight, and the session answers nothing until it restarts.
  const g = <T>(work: (p: Provider) => Promise<T>): Promise<T> => points.guard(() => work(current.p));
  return {
    activate: (a) => g(async (p) => outcome(await p.activate(a))),
    view: (a) =>
      g(async (p): Promise<ConsoleView> => {
        const v = await p.view(a);
        return {
          ekmSection: v.ekmSection,
          ...(v.providerAccountId === undefined ? {} : { providerAccountId: v.providerAccountId }),
          ...(v.keyArn === undefined ? {} : { keyArn: v.keyArn }),
          externalKeyManagement: v.externalKeyManagement,
          cloudKeyManagement: v.cloudKeyManagement,
          updateInProgress: v.updateInProgress,
          ...(v.unrecoverableSnapshots === undefined ? {} : { unrecoverableSnapshots: [...v.unrecoverableSnapshots] }),
        };
      }),
    submitKey: (a, arn) => g(async (p) => outcome(await p.submitArn(a, arn))),
    showTerms: (a) => g(async (p) => outcome(await p.showTerms(a))),
    acceptTerms: (a) => g(async (p) => outcome(await p.acceptTerms(a))),
    declineTerms: (a) => g(async (p) => outcome(await p.declineTerms(a))),
    abandon: (a) => g(async (p) => outcome(await p.declineTerms(a))),
    updateKey: (a, arn, o) => g(async (p) => outcome(await p.updateKey(a, arn, o?.complete === undefined ? {} : { complete: o.complete }))),
    completeUpdate: (a) => g(async (p) => outcome(await p.completeUpdate(a))),
    returnToCloudKms: (a) => g(async (p) => outcome(await p.returnToCloudKms(a))),
    connectTenant: (a, tenant, o) =>
      g(async (p) => {
        if ((await p.account(a)) === undefined) {
          await p.addAccount({ accountId: a, tenants: [tenant], ...(o?.scheduleEveryMs === undefined ? {} : { scheduleEveryMs: o.scheduleEveryMs }) });
          return { ok: true, message: `Tenant ${tenant.tenantId} is connected.` };
        }
        return outcome(await p.addTenant(a, tenant));
      }),
    runScheduled: (a, at) =>
      g(async (p) => (await p.tick(at, { accountId: a })).map((r) => (r.ok ? { ok: true as const, snapshot: r.snapshot.id } : failed(r)))),
    backup: (a, o) =>
      g(async (p) => {
        const r = await p.backup(a, { workflow: 'manualBackup', ...(o?.tenantId === undefined ? {} : { tenantId: o.tenantId }) });
        return r.ok ? { ok: true, snapshot: r.snapshot.id } : failed(r);
      }),
    restore: (a, o) =>
      g(async (p) => {
        const r = await p.restore(a, {
          ...(o?.snapshot === undefined ? {} : { snapshotId: o.snapshot }),
          ...(o?.tenantId === undefined ? {} : { tenantId: o.tenantId }),
          ...(o?.entities === undefined ? {} : { entities: o.entities as never }),
        });
        return r.ok ? { ok: true, snapshot: r.snapshotId } : failed(r);
      }),
    download: (a, o) =>
      g(async (p) => {
        downloads ??= await mkdtemp(join(tmpdir(), 'ekm-reference-'));
        const file = join(downloads, `download-${Date.now()}-${Math.random().toString(36).slice(2)}.zip`);
        try {
          const r = await p.download(a, {
            file,
            ...(o?.snapshot === undefined ? {} : { snapshotId: o.snapshot }),
            ...(o?.tenantId === undefined ? {} : { tenantId: o.tenantId }),
          });
          if (!r.ok) return failed(r);
          return { ok: true, snapshot: r.snapshotId, zip: new Uint8Array(await readFile(file)) };
        } finally {
          await rm(file, { force: true });
        }
      }),
    snapshots: (a, o) => g(async (p) => (await p.snapshots(a, o?.tenantId)).map((m) => ({ id: m.id, tenantId: m.tenantId, takenAt: m.createdAt }))),
    tamper: (a, snapshot, mode) =>
      g(async () => {
        await current.tamperer.tamper(a, snapshot, mode);
        return { ok: true };
      }),
    pause: async (_a, point) => points.arm(point, 'pause'),
    paused: (_a, point, timeoutMs) => points.paused(point, timeoutMs),
    resume: async (_a, point) => points.resume(point),
    crash: async (_a, point) => points.arm(point, 'crash'),
    restart: async () => {
      points.restarted();
      current = await start();
      return { ok: true, message: 'restarted on the same storage' };
    },
    close: async () => {
      if (downloads !== undefined) await rm(downloads, { recursive: true, force: true });
    },
  };
}

const MICROSOFT = ['https://graph.microsoft.com', 'https://login.microsoftonline.com'];

/** Microsoft's hosts as the environment serves them: `${endpoint}/<host>/<path>` (see Environment.graph). */
function graphFetch(endpoint: string): typeof fetch {
  const base = endpoint.replace(/\/+$/, '');
  return (input, init) => {
    const target = input instanceof Request ? input.url : String(input);
    const origin = MICROSOFT.find((h) => target.startsWith(`${h}/`));
    if (origin === undefined) return fetch(input, init);
    return fetch(`${base}/${new URL(origin).host}${target.slice(origin.length)}`, init);
  };
}
