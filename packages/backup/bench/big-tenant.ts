/**
 * Time and peak memory (RSS) of a backup, an in-place restore and a download of a 10,000-user
 * tenant (or `users`), with EKM enabled, through the gateway, LocalStack S3 and MSW Graph, the
 * mock tenant in this process. `pnpm bench` at the root measures the same with the tenant in a
 * process of its own (bench/workflow.ts), up to 1,000,000 users.
 *   LOCALSTACK_ENDPOINT=http://127.0.0.1:4566 tsx bench/big-tenant.ts [users]
 * Without LOCALSTACK_ENDPOINT, @ekm/localstack starts one for the run.
 */
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '@ekm/localstack';
import { compareDirectories } from '@ekm/entra-mock';
import { startWorld } from '../test/support/test-world.ts';

const users = Number(process.argv[2] ?? 10_000);
const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

async function measure<T>(label: string, work: () => Promise<T>): Promise<T> {
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(
      JSON.stringify({ label, ms: Math.round(performance.now() - t0), rssBeforeMiB: mib(start), peakRssMiB: mib(peak), deltaMiB: mib(peak - start) }),
    );
  }
}

const localstack = await startLocalStack();
const world = await startWorld(localstack.endpoint);
try {
  const a = await world.customerAccount(users);
  const p = world.provider;
  await p.activate(a.accountId);
  const arn = await a.customer.createKey();
  await p.submitArn(a.accountId, arn);
  await p.showTerms(a.accountId);
  await p.acceptTerms(a.accountId);
  const state = a.tenant.directory.state();
  const counts = Object.fromEntries(Object.entries(state.objects).map(([k, v]) => [k, v.length]));
  console.log(JSON.stringify({ users, counts, links: state.links.length }));
  const backup = await measure('backup', () => p.backup(a.accountId));
  if (!backup.ok) throw new Error(backup.failure.code);
  console.log(JSON.stringify({ snapshotBytes: backup.snapshot.parts.reduce((n, x) => n + x.bytes, 0), kmsCalls: backup.kmsCalls }));
  // Change 1% of the users and remove 0.5% so the restore has work to do.
  const list = state.objects.user;
  for (let i = 0; i < list.length; i += 100) a.tenant.directory.update('user', list[i]!.id, { jobTitle: 'changed' });
  for (let i = 50; i < list.length; i += 200) a.tenant.directory.remove('user', list[i]!.id, new Date());
  const restore = await measure('restore', () => p.restore(a.accountId));
  if (!restore.ok) throw new Error(restore.failure.code);
  console.log(
    JSON.stringify({ executed: restore.executed, kmsCalls: restore.kmsCalls, differencesAfter: compareDirectories(state, a.tenant.directory.state()).length }),
  );
  const file = join(tmpdir(), `ekm-big-tenant-${process.pid}.zip`);
  try {
    const download = await measure('download', () => p.download(a.accountId, { file }));
    if (!download.ok) throw new Error(download.failure.code);
    console.log(JSON.stringify({ zipBytes: statSync(file).size, kmsCalls: download.kmsCalls }));
  } finally {
    rmSync(file, { force: true });
  }
} finally {
  await world.close();
  await localstack.stop();
}
