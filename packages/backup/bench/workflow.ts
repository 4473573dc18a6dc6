/**
 * One tenant size, one process: backup, full in-place restore and download of an
 * N-user tenant through the KMS gateway, LocalStack S3 and the MSW Graph, with the KMS
 * calls of each workflow read from the gateway's audit trail, next to the naive design
 * that wraps one data key per entity, done for real through the same gateway.
 *   tsx bench/workflow.ts --endpoint http://127.0.0.1:4566 --users 1000 [--baseline all|backup|none]
 * Prints one JSON line (the last line of stdout). Run by bench/perf.ts, one child per size,
 * so that the RSS figures are this workflow's process and nothing else.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { compareDirectories, ENTITY_KINDS } from '@ekm/entra-mock';
import { createKmsClient } from '@ekm/kms';
import type { AuditEvent, KmsGateway } from '@ekm/kms-gateway';
import { REGION, startWorld } from '../src/test-world.ts';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    users: { type: 'string', default: '100' },
    /** all: the naive design's backup, restore and download for real; backup: its backup only; none: counts derived. */
    baseline: { type: 'string', default: 'none' },
    concurrency: { type: 'string', default: '16' },
  },
});
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
}

async function measure<T>(work: () => Promise<T>): Promise<{ value: T; measured: Measured }> {
  global.gc?.();
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
    return { value, measured: { ms: Math.round(ms), rssBeforeMiB: mib(before), peakRssMiB: mib(peak), maxRssMiB: mib(process.resourceUsage().maxRSS * 1024) } };
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

const started = performance.now();
const world = await startWorld(values.endpoint);
const out: Record<string, unknown> = { users };
const temp = mkdtempSync(join(tmpdir(), 'ekm-bench-'));
try {
  const generation = await measure(() => world.customerAccount(users));
  const a = generation.value;
  const p = world.provider;
  const state = a.tenant.directory.state();
  const counts = Object.fromEntries(ENTITY_KINDS.map((k) => [k, state.objects[k].length]));
  const entities = Object.values(counts).reduce((n, c) => n + c, 0);
  Object.assign(out, { entities, counts, links: state.links.length, tenantSetup: generation.measured });

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
  const list = state.objects.user;
  for (let i = 0; i < list.length; i += 100) a.tenant.directory.update('user', list[i]!.id, { jobTitle: 'changed' });
  for (let i = 50; i < list.length; i += 200) a.tenant.directory.remove('user', list[i]!.id, new Date());
  world.gateway.control.audit.clear();
  const restore = await measure(() => p.restore(a.accountId));
  if (!restore.value.ok) throw new Error(`restore: ${restore.value.failure.code}`);
  const differencesAfter = compareDirectories(state, a.tenant.directory.state()).length;
  workflows.restore = { ...restore.measured, kms: calls(world.gateway, world.providerAccount), portCount: restore.value.kmsCalls.total, graphWrites: restore.value.executed, differencesAfter };

  world.gateway.control.audit.clear();
  const file = join(temp, 'snapshot.zip');
  const download = await measure(() => p.download(a.accountId, { file }));
  if (!download.value.ok) throw new Error(`download: ${download.value.failure.code}`);
  workflows.download = { ...download.measured, kms: calls(world.gateway, world.providerAccount), portCount: download.value.kmsCalls.total, zipBytes: statSync(file).size };
  out.workflows = workflows;

  // The O(n) design: one data key per entity, generated on backup and unwrapped again on
  // every restore and download, each a KMS call on the customer's key. Its count is one
  // call per entity by construction; where it is not run, that count is given as derived.
  const arn = (await p.tenantKeyWrapping(a.accountId)).keyArn;
  const kms = createKmsClient({ endpoint: world.gateway.endpoint, region: REGION, account: world.providerAccount, maxAttempts: 3 });
  const ids = ENTITY_KINDS.flatMap((k) => state.objects[k].map((o) => `${k}/${o.id}`));
  const context = (id: string) => ({ tenant: a.tenant.tenantId, entity: id });
  const derived = { measured: false, derived: ids.length };
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
    await pool(ids.map((id, i) => [id, wrapped[i]!] as const), concurrency, async ([id, blob]) => {
      const r = await kms.send(new DecryptCommand({ KeyId: arn, CiphertextBlob: blob, EncryptionContext: context(id) }));
      r.Plaintext?.fill(0);
    });
    return { measured: true, ms: Math.round(performance.now() - t0), kms: calls(world.gateway, world.providerAccount) };
  };
  const mode = values.baseline;
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
