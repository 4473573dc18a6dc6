import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startWorld, type World } from './test-world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld(inject('localstackEndpoint'));
});
afterAll(async () => world?.close());

const child = fileURLToPath(new URL('./kill-child.ts', import.meta.url));

function runChild(input: unknown): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, EKM_KILL_CHILD: JSON.stringify(input) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

it('[EKM-12] a provider process killed (SIGKILL) between data and manifest leaves no complete-looking snapshot; the next backup succeeds', async () => {
  const p = world.provider;
  const a = await world.customerAccount();
  await p.activate(a.accountId);
  const arn = await a.customer.createKey();
  await p.submitArn(a.accountId, arn);
  await p.showTerms(a.accountId);
  expect(await p.acceptTerms(a.accountId)).toMatchObject({ ok: true });
  const first = await p.backup(a.accountId);
  expect(first.ok).toBe(true);
  const before = await p.snapshots(a.accountId);

  for (const killAt of ['afterDataWritten', 'beforeCommit'] as const) {
    const { options } = world;
    const tenant = { seed: a.spec.seed, users: a.spec.users, referenceDate: a.spec.referenceDate.toISOString(), clientId: a.tenant.clientId, clientSecret: a.tenant.clientSecret };
    const exit = await runChild({ options: { ...options, hooks: undefined }, accountId: a.accountId, tenant, killAt });
    expect(exit.signal, exit.stderr).toBe('SIGKILL');
    expect(await p.snapshots(a.accountId)).toEqual(before);
    expect((await p.orphans(a.accountId)).length).toBeGreaterThan(0);
  }

  const next = await p.backup(a.accountId);
  expect(next).toMatchObject({ ok: true });
  if (next.ok) expect(next.orphansRemoved).toBeGreaterThan(0);
  expect(await p.orphans(a.accountId)).toEqual([]);
  expect(await p.snapshots(a.accountId)).toHaveLength(before.length + 1);
  expect(await p.restore(a.accountId)).toMatchObject({ ok: true });
});
