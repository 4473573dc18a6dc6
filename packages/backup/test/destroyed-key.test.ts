// EKM-21: destroying the key loses the data it protects, not the account. In memory (MemoryKms,
// MemoryBucket, the MSW Graph tenant); the same story against LocalStack is
// scenarios/destruction/new-key-after-destruction.yaml.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import { MemoryKms } from '@ekm/kms/testing';
import { MemoryBucket } from '../src/bucket.ts';
import { Provider } from '../src/provider.ts';

const graph = createGraphServer();
beforeAll(() => graph.listen());
afterAll(() => graph.close());

let seed = 700;
async function enabledWorld() {
  const kms = new MemoryKms('123412341234');
  const provider = await Provider.open({
    accountId: '123412341234',
    keyPort: kms,
    cloudKeyArn: kms.createKey(),
    bucket: new MemoryBucket(),
    graph: { sleep: async () => {} },
  });
  const t = createMockTenant(generateTenant({ seed: seed++, users: 8, referenceDate: new Date('2026-01-01T00:00:00Z') }));
  graph.addTenant(t);
  await provider.addAccount({ accountId: 'acct-1', tenants: [{ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret }] });
  const a = kms.createKey('555566667777');
  await provider.activate('acct-1');
  await provider.submitArn('acct-1', a);
  await provider.showTerms('acct-1');
  expect(await provider.acceptTerms('acct-1')).toMatchObject({ ok: true });
  return { kms, provider, a };
}

async function snapshotId(provider: Provider): Promise<string> {
  const r = await provider.backup('acct-1');
  if (!r.ok) throw new Error(`backup failed: ${r.failure.code}`);
  return r.snapshot.id;
}

describe('a destroyed key loses its data, not the account', () => {
  it('[EKM-21][EKM-18] after deletion completes, an update to a usable key succeeds; new backups use it; lost snapshots are unrecoverable and listed', async () => {
    const { kms, provider, a } = await enabledWorld();
    const s1 = await snapshotId(provider);
    const s2 = await snapshotId(provider);
    kms.destroy(a);
    expect(await provider.backup('acct-1')).toMatchObject({ ok: false, failure: { code: 'KeyDeleted' } });

    const b = kms.createKey('555566667777');
    const updated = await provider.updateKey('acct-1', b);
    expect(updated).toMatchObject({ ok: true, transition: 'updating.completeUpdate.completed' });
    expect(updated.ok && updated.message).toMatch(/destroyed: 2 snapshot\(s\) it protected cannot be recovered/);
    const view = await provider.view('acct-1');
    expect(view).toMatchObject({ keyArn: b, externalKeyManagement: 'Enabled', updateInProgress: false });
    expect([...view.unrecoverableSnapshots].sort()).toEqual([s1, s2].sort());

    const s3 = await provider.backup('acct-1');
    expect(s3).toMatchObject({ ok: true, snapshot: { keyArn: b, tenantKeyVersion: 2 } });
    expect(await provider.restore('acct-1')).toMatchObject({ ok: true });
    const before = kms.calls.length;
    expect(await provider.restore('acct-1', { snapshotId: s1 })).toMatchObject({
      ok: false,
      transition: 'ekmEnabled.restore.failed',
      failure: { code: 'DataUnrecoverable', kind: 'permanent' },
    });
    expect(await provider.download('acct-1', { snapshotId: s2, file: '/nonexistent/never.zip' })).toMatchObject({
      ok: false,
      failure: { code: 'DataUnrecoverable', message: expect.stringContaining('cannot be recovered') },
    });
    expect(kms.calls.length).toBe(before);

    // A later update moves what is readable and keeps what is lost listed as lost.
    const c = kms.createKey('555566667777');
    expect(await provider.updateKey('acct-1', c)).toMatchObject({ ok: true });
    expect(await provider.restore('acct-1', { snapshotId: s3.ok ? s3.snapshot.id : '' })).toMatchObject({ ok: true });
    expect(await provider.restore('acct-1', { snapshotId: s1 })).toMatchObject({ ok: false, failure: { code: 'DataUnrecoverable' } });
    expect((await provider.view('acct-1')).unrecoverableSnapshots).toHaveLength(2);
  });

  it.each([
    ['disabled', (kms: MemoryKms, a: string) => kms.setState(a, 'Disabled')],
    ['pending deletion', (kms: MemoryKms, a: string) => kms.setState(a, 'PendingDeletion')],
  ])('[EKM-21][EKM-15] a key only deactivated (%s) still refuses the update, the old key stays in force', async (_, deactivate) => {
    const { kms, provider, a } = await enabledWorld();
    await snapshotId(provider);
    deactivate(kms, a);
    const b = kms.createKey('555566667777');
    expect(await provider.updateKey('acct-1', b)).toMatchObject({ ok: false, failure: { code: 'UpdateNeedsOldKey' } });
    expect(await provider.view('acct-1')).toMatchObject({ keyArn: a, unrecoverableSnapshots: [] });
  });
});
