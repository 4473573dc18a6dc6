import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { generateTenant, type DirectoryState } from '@ekm/entra-mock';
import { allRestored, killProvider, restoreEach, startWorld, type World } from './support/test-world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld(inject('localstackEndpoint'));
});
afterAll(async () => world?.close());

it('[EKM-12] a provider process killed (SIGKILL) at each point of a backup leaves no complete-looking partial snapshot; every complete one restores and the next backup succeeds', async () => {
  const p = world.provider;
  const a = await world.customerAccount();
  await p.activate(a.accountId);
  const arn = await a.customer.createKey();
  await p.submitArn(a.accountId, arn);
  await p.showTerms(a.accountId);
  expect(await p.acceptTerms(a.accountId)).toMatchObject({ ok: true });
  const expected = new Map<string, DirectoryState>();
  const state = a.tenant.directory.state();
  const first = await p.backup(a.accountId);
  if (!first.ok) throw new Error(first.failure.code);
  expected.set(first.snapshot.id, state);

  // The child reads its own copy of the tenant, generated from the same seed.
  const seeded = generateTenant({ seed: a.spec.seed, users: a.spec.users, referenceDate: a.spec.referenceDate });
  const tenant = {
    seed: a.spec.seed,
    users: a.spec.users,
    referenceDate: a.spec.referenceDate.toISOString(),
    clientId: a.tenant.clientId,
    clientSecret: a.tenant.clientSecret,
  };
  for (const killAt of ['beforeData', 'afterDataWritten', 'beforeCommit', 'afterCommit'] as const) {
    const before = await p.snapshots(a.accountId);
    const exit = await killProvider({ operation: 'backup', options: world.options, accountId: a.accountId, tenant, killAt });
    expect(exit.signal, exit.stderr).toBe('SIGKILL');
    const restarted = await world.reopen();
    const after = await restarted.snapshots(a.accountId);
    if (killAt === 'afterCommit') {
      // The manifest was stored: the snapshot is complete although the process never reported it.
      expect(after.slice(0, -1)).toEqual(before);
      expect(after).toHaveLength(before.length + 1);
      expected.set(after.at(-1)!.id, seeded);
    } else {
      expect(after, killAt).toEqual(before);
    }
    const leftovers = await restarted.orphans(a.accountId);
    if (killAt === 'afterDataWritten' || killAt === 'beforeCommit') expect(leftovers.length, killAt).toBeGreaterThan(0);
    else expect(leftovers, killAt).toEqual([]);
    expect(await restoreEach(restarted, a.accountId, a.tenant, expected)).toEqual(allRestored(expected));
    expect(await restarted.tenantKeyWrapping(a.accountId)).toEqual({ keyArn: arn, version: 1 });
  }

  const restarted = await world.reopen();
  const next = await restarted.backup(a.accountId);
  expect(next).toMatchObject({ ok: true });
  expect(await restarted.orphans(a.accountId)).toEqual([]);
  expect(await restarted.snapshots(a.accountId)).toHaveLength(expected.size + 1);
  expect(await restarted.restore(a.accountId)).toMatchObject({ ok: true });
});
