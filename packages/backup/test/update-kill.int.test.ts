import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMockTenant, generateTenant, type DirectoryState, type MockTenant } from '@ekm/entra-mock';
import type { UpdateKillPoint } from './support/kill-child.ts';
import type { Provider } from '../src/provider.ts';
import { allRestored, killProvider, restoreEach, startWorld, type World } from './support/test-world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld(inject('localstackEndpoint'));
});
afterAll(async () => world?.close());

/**
 * An EKM account under `oldArn` with two snapshots of different tenant states, and
 * optionally a second tenant (so an update moves two tenant keys, one at a time).
 */
async function ekmAccount(extraTenant = false) {
  const p = world.provider;
  const a = await world.customerAccount();
  const tenants: MockTenant[] = [a.tenant];
  if (extraTenant) {
    const second = createMockTenant(generateTenant({ seed: a.spec.seed + 10_000, users: 8, referenceDate: a.spec.referenceDate }));
    world.graph.addTenant(second);
    expect(await p.addTenant(a.accountId, { tenantId: second.tenantId, clientId: second.clientId, clientSecret: second.clientSecret })).toMatchObject({
      ok: true,
    });
    tenants.push(second);
  }
  expect(await p.activate(a.accountId)).toMatchObject({ ok: true });
  const oldArn = await a.customer.createKey();
  expect(await p.submitArn(a.accountId, oldArn)).toMatchObject({ ok: true });
  expect(await p.showTerms(a.accountId)).toMatchObject({ ok: true });
  expect(await p.acceptTerms(a.accountId)).toMatchObject({ ok: true });
  const expected = new Map<string, Map<string, DirectoryState>>();
  for (const t of tenants) {
    const mine = new Map<string, DirectoryState>();
    for (let i = 0; i < 2; i++) {
      const state = t.directory.state();
      const b = await p.backup(a.accountId, { tenantId: t.tenantId });
      if (!b.ok) throw new Error(`backup failed: ${b.failure.code}`);
      mine.set(b.snapshot.id, state);
      t.directory.update('user', state.objects.user[0]!.id, { displayName: `after snapshot ${i}` });
    }
    expected.set(t.tenantId, mine);
  }
  return { ...a, tenants, oldArn, expected };
}

type Account = Awaited<ReturnType<typeof ekmAccount>>;

async function killUpdate(a: Account, newArn: string, killAt: UpdateKillPoint, nth = 1): Promise<Provider> {
  const exit = await killProvider({ operation: 'updateKey', options: world.options, accountId: a.accountId, newArn, killAt, nth });
  expect(exit.signal, exit.stderr).toBe('SIGKILL');
  // The restart: a new provider process on the same bucket.
  return world.reopen();
}

async function everySnapshotRestores(p: Provider, a: Pick<Account, 'accountId' | 'tenants' | 'expected'>): Promise<void> {
  for (const t of a.tenants) {
    const mine = a.expected.get(t.tenantId)!;
    expect(await restoreEach(p, a.accountId, t, mine)).toEqual(allRestored(mine));
    expect(await p.orphans(a.accountId, t.tenantId)).toEqual([]);
  }
}

describe('a provider killed (SIGKILL) during a key update', () => {
  it.each<[UpdateKillPoint, 'old' | 'new', boolean]>([
    ['beforeRewrap', 'old', false],
    ['afterRewrap', 'old', true],
    ['afterCommit', 'new', false],
  ])(
    '[EKM-15][EKM-16] killed %s: on restart one key is in force (%s), every snapshot restores with it, completeUpdate finishes the update',
    async (killAt, inForce, pending) => {
      const a = await ekmAccount();
      const newArn = await a.customer.createKey();
      const p = await killUpdate(a, newArn, killAt);

      // The console shows the update as interrupted, never as done, and offers no key to retire.
      expect(await p.view(a.accountId)).toMatchObject({
        phase: 'updating',
        keyArn: a.oldArn,
        updateInProgress: true,
        externalKeyManagement: 'Enabled',
        safeToRetire: [],
      });
      const wrapping = await p.tenantKeyWrapping(a.accountId);
      expect(wrapping).toEqual({ keyArn: inForce === 'old' ? a.oldArn : newArn, version: 1, ...(pending ? { pendingKeyArn: newArn } : {}) });
      await everySnapshotRestores(p, a);
      // A backup taken while the update is interrupted is complete and restores too.
      const during = a.tenant.directory.state();
      const b = await p.backup(a.accountId);
      expect(b).toMatchObject({ ok: true });
      if (b.ok) a.expected.get(a.tenant.tenantId)!.set(b.snapshot.id, during);
      expect(await p.updateKey(a.accountId, newArn)).toMatchObject({ ok: false, failure: { code: 'UpdateInProgress' } });

      expect(await p.completeUpdate(a.accountId)).toMatchObject({ ok: true, transition: 'updating.completeUpdate.completed' });
      expect(await p.view(a.accountId)).toMatchObject({ phase: 'ekmEnabled', keyArn: newArn, updateInProgress: false, safeToRetire: [a.oldArn] });
      expect(await p.tenantKeyWrapping(a.accountId)).toEqual({ keyArn: newArn, version: 1 });
      // The old key is retired as the console allows: nothing needs it any more (EKM-16).
      await a.customer.disable(a.oldArn);
      await everySnapshotRestores(p, a);
    },
  );

  it('[EKM-15][EKM-12] killed after the rewrap, with the old key disabled before the restart: completeUpdate fails and rolls back cleanly', async () => {
    const a = await ekmAccount();
    const newArn = await a.customer.createKey();
    const p = await killUpdate(a, newArn, 'afterRewrap');
    await a.customer.disable(a.oldArn);

    const r = await p.completeUpdate(a.accountId);
    expect(r).toMatchObject({ ok: false, transition: 'updating.completeUpdate.failed', failure: { code: 'UpdateNeedsOldKey', kind: 'revocation' } });
    // Rolled back: the old key alone is in force, the pending wrapping under the new key is gone.
    expect(await p.view(a.accountId)).toMatchObject({ phase: 'ekmEnabled', keyArn: a.oldArn, updateInProgress: false, safeToRetire: [] });
    expect(await p.tenantKeyWrapping(a.accountId)).toEqual({ keyArn: a.oldArn, version: 1 });
    // With the old key revoked the data is unreadable (EKM-12), not readable through the new key.
    expect(await p.restore(a.accountId)).toMatchObject({ ok: false, failure: { code: 'KeyDisabled' } });
    await a.customer.enable(a.oldArn);
    await everySnapshotRestores(p, a);
    // And the update can be made again from the start.
    expect(await p.updateKey(a.accountId, newArn)).toMatchObject({ ok: true, transition: 'updating.completeUpdate.completed' });
    await a.customer.disable(a.oldArn);
    await everySnapshotRestores(p, a);
  });

  it.each<[UpdateKillPoint, number]>([
    ['afterCommit', 1],
    ['afterRewrap', 2],
    // Every tenant key moved, the settings not yet switched.
    ['afterCommit', 2],
  ])(
    '[EKM-15][EKM-16] two tenants, killed %s of tenant key %i: each tenant has exactly one key in force, all data restores, completeUpdate moves the rest',
    async (killAt, nth) => {
      const a = await ekmAccount(true);
      const newArn = await a.customer.createKey();
      const p = await killUpdate(a, newArn, killAt, nth);

      expect(await p.view(a.accountId)).toMatchObject({ phase: 'updating', keyArn: a.oldArn, updateInProgress: true, safeToRetire: [] });
      const [first, second] = a.tenants as [MockTenant, MockTenant];
      expect(await p.tenantKeyWrapping(a.accountId, first.tenantId)).toEqual({ keyArn: newArn, version: 1 });
      expect(await p.tenantKeyWrapping(a.accountId, second.tenantId)).toEqual({
        keyArn: killAt === 'afterCommit' && nth === 2 ? newArn : a.oldArn,
        version: 1,
        ...(killAt === 'afterRewrap' ? { pendingKeyArn: newArn } : {}),
      });
      await everySnapshotRestores(p, a);

      expect(await p.completeUpdate(a.accountId)).toMatchObject({ ok: true, transition: 'updating.completeUpdate.completed' });
      for (const t of a.tenants) expect(await p.tenantKeyWrapping(a.accountId, t.tenantId)).toEqual({ keyArn: newArn, version: 1 });
      expect(await p.view(a.accountId)).toMatchObject({ keyArn: newArn, safeToRetire: [a.oldArn] });
      await a.customer.disable(a.oldArn);
      await everySnapshotRestores(p, a);
    },
  );
});

/** An activated account whose customer key is validated and whose terms are shown, with two snapshots under Cloud KM. */
async function termsShownAccount() {
  const p = world.provider;
  const a = await world.customerAccount();
  expect(await p.activate(a.accountId)).toMatchObject({ ok: true });
  const arn = await a.customer.createKey();
  expect(await p.submitArn(a.accountId, arn)).toMatchObject({ ok: true });
  const expected = new Map<string, DirectoryState>();
  for (let i = 0; i < 2; i++) {
    const state = a.tenant.directory.state();
    const b = await p.backup(a.accountId);
    if (!b.ok) throw new Error(`backup failed: ${b.failure.code}`);
    expected.set(b.snapshot.id, state);
    a.tenant.directory.update('user', state.objects.user[0]!.id, { displayName: `after snapshot ${i}` });
  }
  expect(await p.showTerms(a.accountId)).toMatchObject({ ok: true });
  return { ...a, arn, tenants: [a.tenant], expected: new Map([[a.tenant.tenantId, expected]]) };
}

async function killAccept(a: Awaited<ReturnType<typeof termsShownAccount>>, killAt: UpdateKillPoint): Promise<Provider> {
  const exit = await killProvider({ operation: 'acceptTerms', options: world.options, accountId: a.accountId, killAt });
  expect(exit.signal, exit.stderr).toBe('SIGKILL');
  return world.reopen();
}

describe('a provider killed (SIGKILL) while enabling EKM', () => {
  it.each<UpdateKillPoint>(['beforeRewrap', 'afterRewrap', 'afterCommit'])(
    '[EKM-07][EKM-08] killed %s: Cloud KM is still shown, the data restores, and accepting the terms again enables EKM',
    async (killAt) => {
      const a = await termsShownAccount();
      const p = await killAccept(a, killAt);
      expect(await p.view(a.accountId)).toMatchObject({ phase: 'termsShown', cloudKeyManagement: 'Enabled', externalKeyManagement: 'Disabled' });
      expect([p.cloudKeyArn, a.arn]).toContain((await p.tenantKeyWrapping(a.accountId)).keyArn);
      await everySnapshotRestores(p, a);
      expect(await p.acceptTerms(a.accountId)).toMatchObject({ ok: true, transition: 'termsShown.acceptTerms.enabled' });
      expect(await p.view(a.accountId)).toMatchObject({ phase: 'ekmEnabled', keyArn: a.arn, cloudKeyManagement: 'Disabled' });
      expect(await p.tenantKeyWrapping(a.accountId)).toEqual({ keyArn: a.arn, version: 1 });
      await everySnapshotRestores(p, a);
    },
  );

  it.each<UpdateKillPoint>(['beforeRewrap', 'afterRewrap', 'afterCommit'])(
    'regression: [EKM-07] killed %s, then the customer declines: the tenant key stayed under the declined key; now Cloud KM protects everything again and the customer key is not needed',
    async (killAt) => {
      const a = await termsShownAccount();
      const p = await killAccept(a, killAt);
      expect(await p.declineTerms(a.accountId)).toMatchObject({ ok: true });
      expect(await p.view(a.accountId)).toMatchObject({ phase: 'cloudKms', cloudKeyManagement: 'Enabled', externalKeyManagement: 'Disabled' });
      // What the console says is what protects the data: the provider's key, not the declined one.
      expect(await p.tenantKeyWrapping(a.accountId)).toEqual({ keyArn: p.cloudKeyArn, version: 1 });
      await a.customer.disable(a.arn);
      await everySnapshotRestores(p, a);
      expect(await p.backup(a.accountId)).toMatchObject({ ok: true });
    },
  );
});
