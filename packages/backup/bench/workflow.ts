/**
 * One tenant size, one provider process: backup, full in-place restore and download of an
 * N-user tenant through the KMS gateway, LocalStack S3 and the mock Graph, with the KMS
 * calls of each workflow read from the gateway's audit trail, next to the naive design
 * that wraps one data key per entity, done for real through the same gateway.
 *   tsx bench/workflow.ts --endpoint http://127.0.0.1:4566 --users 1000 [--baseline all|backup|none] [--graph process|inline]
 * --graph process (default): the mock tenant is Microsoft's side and runs in a child process,
 * reached over loopback HTTP, so the RSS figures are the provider's process alone.
 * --graph inline: the tenant lives in this process behind MSW, as the test world has it
 * (the RSS figures then include the tenant).
 * Prints one JSON line (the last line of stdout). Run by bench/perf.ts, one child per size.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { compareDirectories, ENTITY_KINDS, spawnGraphProcess, type DirectoryChange, type DirectoryState, type EntityKind } from '@ekm/entra-mock';
import { createKmsClient } from '@ekm/kms';
import { localstackCredentials } from '@ekm/kms/testing';
import { startKmsGateway, type AuditEvent, type KmsGateway } from '@ekm/kms-gateway';
import { Provider } from '../src/provider.ts';
import { accountId, Customer, REGION, removeBuckets, startWorld } from '../test/support/test-world.ts';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    users: { type: 'string', default: '100' },
    /** all: the naive design's backup, restore and download for real; backup: its backup only; none: counts derived. */
    baseline: { type: 'string', default: 'none' },
    concurrency: { type: 'string', default: '16' },
    graph: { type: 'string', default: 'process' },
  },
});
if (values.graph !== 'process' && values.graph !== 'inline') throw new Error('--graph is process or inline');
if (values.endpoint === undefined) throw new Error('--endpoint <LocalStack url> is required');
const users = Number(values.users);
const concurrency = Number(values.concurrency);
const MIB = 1024 * 1024;
const mib = (n: number) => Math.round((n / MIB) * 10) / 10;

export interface Measured {
  ms: number;
  rssBeforeMiB: number;
  /** Highest RSS sampled (every 5 ms) while the workflow ran. */
  peakRssMiB: number;
  /** The process's high-water mark (getrusage maxrss) at the end of the workflow: everything the process held so far. */
  maxRssMiB: number;
  /**
   * The peak RSS of this workflow alone, exact: Linux's high-water mark (VmHWM) reset to the current RSS
   * before it (`5` to /proc/self/clear_refs, proc(5)) and read after it. Undefined where that is not possible.
   */
  hwmRssMiB?: number;
}

/** Resets the kernel's peak-RSS mark of this process to its current RSS; false where it cannot. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
function peakSinceReset(): number | undefined {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? undefined : Number(m[1]) * 1024;
}

async function measure<T>(work: () => Promise<T>): Promise<{ value: T; measured: Measured }> {
  global.gc?.();
  const reset = resetPeak();
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const t0 = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - t0;
    peak = Math.max(peak, process.memoryUsage.rss());
    const hwm = reset ? peakSinceReset() : undefined;
    return {
      value,
      measured: {
        ms: Math.round(ms),
        rssBeforeMiB: mib(before),
        peakRssMiB: mib(peak),
        maxRssMiB: mib(process.resourceUsage().maxRSS * 1024),
        ...(hwm === undefined ? {} : { hwmRssMiB: mib(hwm) }),
      },
    };
  } finally {
    clearInterval(timer);
  }
}

/** KMS calls the provider's account made, by operation, as the gateway's audit trail recorded them. */
function calls(gateway: KmsGateway, providerAccount: string): { total: number; byOperation: Record<string, number>; failed: number } {
  const events: AuditEvent[] = gateway.control.audit.query({ callerAccount: providerAccount });
  const byOperation: Record<string, number> = {};
  for (const e of events) byOperation[e.eventName] = (byOperation[e.eventName] ?? 0) + 1;
  return { total: events.length, byOperation, failed: events.filter((e) => e.errorCode !== undefined).length };
}

async function pool<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await work(items[i]!);
    }),
  );
  return out;
}

/** What the bench needs of a world, whichever process the tenant lives in. */
interface BenchWorld {
  readonly gateway: KmsGateway;
  readonly provider: Provider;
  readonly providerAccount: string;
  /** A product account with a seeded tenant, EKM not yet enabled. */
  account(users: number): Promise<{ accountId: string; customer: Customer; tenantId: string; counts: Record<EntityKind, number>; links: number }>;
  ids(kind: EntityKind): Promise<string[]>;
  change(changes: readonly DirectoryChange[]): Promise<void>;
  /** Keeps the tenant as it is now; `differences` compares with it. */
  checkpoint(): Promise<void>;
  differences(): Promise<number>;
  /** RSS of the process holding the tenant, when that is not this one. */
  tenantProcessRssMiB(): Promise<number | undefined>;
  close(): Promise<void>;
}

const SPEC = { seed: 1, referenceDate: new Date('2026-01-01T00:00:00Z') };

async function inlineWorld(endpoint: string): Promise<BenchWorld> {
  const world = await startWorld(endpoint);
  let tenant: Awaited<ReturnType<typeof world.customerAccount>>['tenant'] | undefined;
  let saved: DirectoryState | undefined;
  return {
    gateway: world.gateway,
    provider: world.provider,
    providerAccount: world.providerAccount,
    async account(users) {
      const a = await world.customerAccount(users);
      tenant = a.tenant;
      // One copy of the tenant's state, kept for the restore comparison as the old bench kept it.
      saved = a.tenant.directory.state();
      return {
        accountId: a.accountId,
        customer: a.customer,
        tenantId: a.tenant.tenantId,
        counts: Object.fromEntries(ENTITY_KINDS.map((k) => [k, saved!.objects[k].length])) as Record<EntityKind, number>,
        links: saved.links.length,
      };
    },
    ids: async (kind) => tenant!.directory.list(kind).map((o) => o.id),
    async change(changes) {
      for (const c of changes) {
        if (c.op === 'update') tenant!.directory.update(c.kind, c.id, c.changes);
        else tenant!.directory.remove(c.kind, c.id, new Date());
      }
    },
    async checkpoint() {
      saved ??= tenant!.directory.state();
    },
    differences: async () => compareDirectories(saved!, tenant!.directory.state()).length,
    tenantProcessRssMiB: async () => undefined,
    close: () => world.close(),
  };
}

async function processWorld(endpoint: string, users: number): Promise<BenchWorld> {
  // Microsoft's side holds the whole tenant (and a checkpoint copy of it): a million users need more than V8's default heap.
  const heap = users > 200_000 ? [`--max-old-space-size=${Math.max(4096, Math.ceil(users / 1000) * 14)}`] : [];
  const graph = await spawnGraphProcess({ execArgv: [...process.execArgv.filter((a) => a !== '--expose-gc'), ...heap] });
  const gateway = await startKmsGateway({ localstackEndpoint: endpoint });
  const providerAccount = accountId();
  const provider = await Provider.open({
    accountId: providerAccount,
    region: REGION,
    kmsEndpoint: gateway.endpoint,
    kmsCredentials: localstackCredentials(providerAccount),
    s3Endpoint: endpoint,
    s3Credentials: localstackCredentials(providerAccount),
    graph: { sleep: async () => {}, fetch: graph.fetch },
  });
  let tenantId = '';
  return {
    gateway,
    provider,
    providerAccount,
    async account(users) {
      const account = accountId();
      const t = await graph.control.createTenant({ ...SPEC, users });
      tenantId = t.tenantId;
      const productAccount = `acct-${account}`;
      await provider.addAccount({ accountId: productAccount, tenants: [{ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret }] });
      return {
        accountId: productAccount,
        customer: new Customer(gateway.endpoint, account, providerAccount),
        tenantId: t.tenantId,
        counts: { ...t.counts },
        links: t.links,
      };
    },
    ids: (kind) => graph.control.ids(tenantId, kind),
    change: async (changes) => void (await graph.control.change(tenantId, changes)),
    checkpoint: () => graph.control.checkpoint(tenantId),
    differences: async () => (await graph.control.differences(tenantId)).length,
    tenantProcessRssMiB: async () => mib((await graph.control.memory()).rss),
    async close() {
      await gateway.close();
      await removeBuckets(endpoint, providerAccount, [`ekm-backups-${providerAccount}`]);
      await graph.close();
    },
  };
}

const started = performance.now();
const world = values.graph === 'process' ? await processWorld(values.endpoint, users) : await inlineWorld(values.endpoint);
const out: Record<string, unknown> = {
  users,
  graph: values.graph,
  /** Whose memory the RSS figures are. */
  rssOf:
    values.graph === 'process'
      ? 'the provider process alone (the mock tenant runs in a child process)'
      : 'one process holding the provider and the in-process mock tenant',
};
const temp = mkdtempSync(join(tmpdir(), 'ekm-bench-'));
try {
  const generation = await measure(() => world.account(users));
  const a = generation.value;
  const p = world.provider;
  const counts = a.counts;
  const entities = Object.values(counts).reduce((n, c) => n + c, 0);
  Object.assign(out, { entities, counts, links: a.links, tenantSetup: generation.measured });
  // The state the restore must bring back, kept where the tenant is.
  await world.checkpoint();

  for (const step of [p.activate(a.accountId), a.customer.createKey().then((arn) => p.submitArn(a.accountId, arn))]) {
    const r = await step;
    if (!r.ok) throw new Error(`setup: ${r.failure.code} ${r.failure.message}`);
  }
  for (const r of [await p.showTerms(a.accountId), await p.acceptTerms(a.accountId)]) if (!r.ok) throw new Error(`setup: ${r.failure.code}`);

  const workflows: Record<string, unknown> = {};
  world.gateway.control.audit.clear();
  const backup = await measure(() => p.backup(a.accountId));
  if (!backup.value.ok) throw new Error(`backup: ${backup.value.failure.code}`);
  const snapshotBytes = backup.value.snapshot.parts.reduce((n, x) => n + x.bytes, 0);
  workflows.backup = { ...backup.measured, kms: calls(world.gateway, world.providerAccount), portCount: backup.value.kmsCalls.total, snapshotBytes };

  // A full in-place restore with work to do: 1% of the users changed and 0.5% deleted since the backup.
  const list = await world.ids('user');
  const changes: DirectoryChange[] = [];
  for (let i = 0; i < list.length; i += 100) changes.push({ op: 'update', kind: 'user', id: list[i]!, changes: { jobTitle: 'changed' } });
  for (let i = 50; i < list.length; i += 200) changes.push({ op: 'remove', kind: 'user', id: list[i]! });
  await world.change(changes);
  world.gateway.control.audit.clear();
  const restore = await measure(() => p.restore(a.accountId));
  if (!restore.value.ok) throw new Error(`restore: ${restore.value.failure.code}`);
  const differencesAfter = await world.differences();
  workflows.restore = {
    ...restore.measured,
    kms: calls(world.gateway, world.providerAccount),
    portCount: restore.value.kmsCalls.total,
    graphWrites: restore.value.executed,
    differencesAfter,
  };

  world.gateway.control.audit.clear();
  const file = join(temp, 'snapshot.zip');
  const download = await measure(() => p.download(a.accountId, { file }));
  if (!download.value.ok) throw new Error(`download: ${download.value.failure.code}`);
  workflows.download = {
    ...download.measured,
    kms: calls(world.gateway, world.providerAccount),
    portCount: download.value.kmsCalls.total,
    zipBytes: statSync(file).size,
  };
  out.workflows = workflows;
  const tenantRss = await world.tenantProcessRssMiB();
  if (tenantRss !== undefined) out.tenantProcessRssMiB = tenantRss;

  // The O(n) design: one data key per entity, generated on backup and unwrapped again on
  // every restore and download, each a KMS call on the customer's key. Its count is one
  // call per entity by construction; where it is not run, that count is given as derived.
  const mode = values.baseline;
  const arn = (await p.tenantKeyWrapping(a.accountId)).keyArn;
  const kms = createKmsClient({ endpoint: world.gateway.endpoint, region: REGION, credentials: localstackCredentials(world.providerAccount), maxAttempts: 3 });
  const ids = mode === 'none' ? [] : (await Promise.all(ENTITY_KINDS.map(async (k) => (await world.ids(k)).map((id) => `${k}/${id}`)))).flat();
  const context = (id: string) => ({ tenant: a.tenantId, entity: id });
  const derived = { measured: false, derived: entities };
  let wrapped: Uint8Array[] = [];
  const generateAll = async () => {
    world.gateway.control.audit.clear();
    const t0 = performance.now();
    wrapped = await pool(ids, concurrency, async (id) => {
      const r = await kms.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context(id) }));
      r.Plaintext?.fill(0);
      return r.CiphertextBlob!;
    });
    return { measured: true, ms: Math.round(performance.now() - t0), kms: calls(world.gateway, world.providerAccount) };
  };
  const unwrapAll = async () => {
    world.gateway.control.audit.clear();
    const t0 = performance.now();
    await pool(
      ids.map((id, i) => [id, wrapped[i]!] as const),
      concurrency,
      async ([id, blob]) => {
        const r = await kms.send(new DecryptCommand({ KeyId: arn, CiphertextBlob: blob, EncryptionContext: context(id) }));
        r.Plaintext?.fill(0);
      },
    );
    return { measured: true, ms: Math.round(performance.now() - t0), kms: calls(world.gateway, world.providerAccount) };
  };
  out.baseline = {
    mode,
    concurrency,
    backup: mode === 'none' ? derived : await generateAll(),
    restore: mode === 'all' ? await unwrapAll() : derived,
    download: mode === 'all' ? await unwrapAll() : derived,
  };
  kms.destroy();
} finally {
  await world.close();
  rmSync(temp, { recursive: true, force: true });
}
out.processMs = Math.round(performance.now() - started);
process.stdout.write(`${JSON.stringify(out)}\n`);
