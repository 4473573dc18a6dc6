import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDirectories, createGraphServer, createMockTenant, generateTenant, type MockTenant } from '@ekm/entra-mock';
import type { UpdateHooks } from '@ekm/kms';
import { MemoryKms } from '@ekm/kms/testing';
import { MemoryBucket } from '../src/bucket.ts';
import { Provider } from '../src/provider.ts';

const graph = createGraphServer();
beforeAll(() => graph.listen());
afterAll(() => graph.close());

let seed = 500;
function tenant(): MockTenant {
  const t = createMockTenant(generateTenant({ seed: seed++, users: 10, referenceDate: new Date('2026-01-01T00:00:00Z') }));
  graph.addTenant(t);
  return t;
}

/** A two-tenant account; `hooks` fire inside every move of a tenant key. */
async function world(hooks: UpdateHooks) {
  const kms = new MemoryKms('123412341234');
  const options = {
    accountId: '123412341234',
    keyPort: kms,
    cloudKeyArn: kms.createKey(),
    bucket: new MemoryBucket(),
    graph: { sleep: async () => {} },
    updateHooks: hooks,
  };
  const provider = await Provider.open(options);
  const tenants = [tenant(), tenant()];
  await provider.addAccount({
    accountId: 'acct-1',
    tenants: tenants.map((t) => ({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret })),
  });
  expect(await provider.activate('acct-1')).toMatchObject({ ok: true });
  return { kms, provider, tenants, options };
}

async function restoresAll(
  provider: Provider,
  tenants: readonly MockTenant[],
  snapshots: ReadonlyMap<string, { id: string; state: ReturnType<MockTenant['directory']['state']> }>,
) {
  for (const t of tenants) {
    const s = snapshots.get(t.tenantId)!;
    t.directory.update('user', s.state.objects.user[0]!.id, { displayName: 'changed' });
    expect(await provider.restore('acct-1', { tenantId: t.tenantId, snapshotId: s.id })).toMatchObject({ ok: true });
    expect(compareDirectories(s.state, t.directory.state())).toEqual([]);
  }
}

describe('an update that fails half-way through a multi-tenant account', () => {
  it('regression: [EKM-15][EKM-16] the new key revoked after the first tenant moved: the update was reported failed with that tenant left under the new key; now it stays in progress until both keys let it finish', async () => {
    let armed = false;
    let newArn = '';
    const { kms, provider, tenants } = await world({
      afterCommit: ({ toKeyArn }) => {
        // The customer disables the new key while the update is moving tenant keys.
        if (armed && toKeyArn === newArn) {
          armed = false;
          kms.setState(newArn, 'Disabled');
        }
      },
    });
    const oldArn = kms.createKey('555566667777');
    newArn = kms.createKey('555566667777');
    expect(await provider.submitArn('acct-1', oldArn)).toMatchObject({ ok: true });
    await provider.showTerms('acct-1');
    expect(await provider.acceptTerms('acct-1')).toMatchObject({ ok: true });
    const snapshots = new Map<string, { id: string; state: ReturnType<MockTenant['directory']['state']> }>();
    for (const t of tenants) {
      const state = t.directory.state();
      const b = await provider.backup('acct-1', { tenantId: t.tenantId });
      if (!b.ok) throw new Error(b.failure.code);
      snapshots.set(t.tenantId, { id: b.snapshot.id, state });
    }

    armed = true;
    const r = await provider.updateKey('acct-1', newArn);
    expect(r).toMatchObject({ ok: false, failure: { code: 'KeyDisabled' } });
    if (!r.ok) expect(r.failure.message).toMatch(/could not be moved back: keep both keys usable/);
    // The first tenant's key is under the new key and cannot move back while it is disabled,
    // so the console must not say the update failed (which invites deleting the new key).
    expect(await provider.tenantKeyWrapping('acct-1', tenants[0]!.tenantId)).toEqual({ keyArn: newArn, version: 1 });
    expect(await provider.tenantKeyWrapping('acct-1', tenants[1]!.tenantId)).toEqual({ keyArn: oldArn, version: 1 });
    expect(await provider.view('acct-1')).toMatchObject({ phase: 'updating', keyArn: oldArn, updateInProgress: true, safeToRetire: [] });
    kms.setState(newArn, 'Enabled');
    await restoresAll(provider, tenants, snapshots);
    expect(await provider.completeUpdate('acct-1')).toMatchObject({ ok: true, transition: 'updating.completeUpdate.completed' });
    for (const t of tenants) expect(await provider.tenantKeyWrapping('acct-1', t.tenantId)).toEqual({ keyArn: newArn, version: 1 });
    kms.setState(oldArn, 'Disabled');
    await restoresAll(provider, tenants, snapshots);
  });

  it('regression: [EKM-07][EKM-08] the customer key revoked after the first tenant moved while enabling: Cloud KM was reported in force with that tenant under the customer key; now the terms stay shown and declining moves it back', async () => {
    let arn = '';
    let armed = true;
    const { kms, provider, tenants } = await world({
      afterCommit: ({ toKeyArn }) => {
        if (armed && toKeyArn === arn) {
          armed = false;
          kms.setState(arn, 'Disabled');
        }
      },
    });
    arn = kms.createKey('555566667777');
    expect(await provider.submitArn('acct-1', arn)).toMatchObject({ ok: true });
    await provider.showTerms('acct-1');
    const r = await provider.acceptTerms('acct-1');
    expect(r).toMatchObject({ ok: false, failure: { code: 'KeyDisabled' } });
    expect(await provider.tenantKeyWrapping('acct-1', tenants[0]!.tenantId)).toEqual({ keyArn: arn, version: 1 });
    expect(await provider.view('acct-1')).toMatchObject({ phase: 'termsShown' });
    kms.setState(arn, 'Enabled');
    expect(await provider.declineTerms('acct-1')).toMatchObject({ ok: true });
    for (const t of tenants) expect(await provider.tenantKeyWrapping('acct-1', t.tenantId)).toEqual({ keyArn: provider.cloudKeyArn, version: 1 });
    expect(await provider.view('acct-1')).toMatchObject({ phase: 'cloudKms', cloudKeyManagement: 'Enabled' });
  });
});
