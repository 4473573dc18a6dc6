import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDirectories, createGraphServer, createMockTenant, generateTenant, type MockTenant } from '@ekm/entra-mock';
import { MemoryKms } from '@ekm/kms/testing';
import { MemoryBucket, type PutCondition } from '../src/bucket.ts';
import { Provider } from '../src/provider.ts';

const graph = createGraphServer();
beforeAll(() => graph.listen());
afterAll(() => graph.close());

let seed = 100;
function tenant(): MockTenant {
  const t = createMockTenant(generateTenant({ seed: seed++, users: 15, referenceDate: new Date('2026-01-01T00:00:00Z') }));
  graph.addTenant(t);
  return t;
}

/** A bucket whose writes under `prefix` fail while `broken` is set: a process dying mid-write. */
class FlakyBucket extends MemoryBucket {
  broken: string | undefined;
  override async put(key: string, body: Uint8Array | string, condition?: PutCondition): Promise<boolean> {
    if (this.broken !== undefined && key.startsWith(this.broken)) throw new Error(`killed while writing ${key}`);
    return super.put(key, body, condition);
  }
}

async function world() {
  const kms = new MemoryKms('123412341234');
  const bucket = new FlakyBucket();
  const options = { accountId: '123412341234', keyPort: kms, cloudKeyArn: kms.createKey(), bucket, graph: { sleep: async () => {} } };
  const provider = await Provider.open(options);
  const t = tenant();
  await provider.addAccount({ accountId: 'acct-1', tenants: [{ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret }] });
  return { kms, bucket, options, provider, t };
}

async function enable(provider: Provider, arn: string) {
  expect(await provider.activate('acct-1')).toMatchObject({ ok: true });
  expect(await provider.submitArn('acct-1', arn)).toMatchObject({ ok: true });
  expect(await provider.showTerms('acct-1')).toMatchObject({ ok: true });
  expect(await provider.acceptTerms('acct-1')).toMatchObject({ ok: true });
}

describe('Provider (in memory)', () => {
  it('[EKM-01][EKM-07][EKM-09] illegal console commands are refused by the domain before any KMS call', async () => {
    const { provider, kms } = await world();
    const arn = kms.createKey('555566667777');
    const calls = kms.calls.length;
    expect(await provider.submitArn('acct-1', arn)).toMatchObject({
      ok: false,
      failure: { code: 'NotActivated' },
      transition: 'notActivated.submitArn.refused',
    });
    expect(await provider.updateKey('acct-1', arn)).toMatchObject({ ok: false, failure: { code: 'NotActivated' } });
    expect(await provider.returnToCloudKms('acct-1')).toMatchObject({ ok: false, failure: { code: 'NotEnabled' } });
    await provider.activate('acct-1');
    expect(await provider.acceptTerms('acct-1')).toMatchObject({ ok: false, failure: { code: 'NotValidated' } });
    expect(await provider.completeUpdate('acct-1')).toMatchObject({ ok: false, failure: { code: 'NotEnabled' } });
    expect(kms.calls.length).toBe(calls);
  });

  it('[EKM-12] a backup refused by the key writes nothing', async () => {
    const { provider, kms, bucket } = await world();
    const arn = kms.createKey('555566667777');
    await enable(provider, arn);
    const before = await bucket.list('snapshots/');
    kms.setState(arn, 'Disabled');
    expect(await provider.backup('acct-1')).toMatchObject({
      ok: false,
      failure: { code: 'KeyDisabled', kind: 'revocation' },
      transition: 'ekmEnabled.manualBackup.failed',
    });
    expect(await bucket.list('snapshots/')).toEqual(before);
  });

  it('[EKM-15] an update interrupted by a crash stays in progress; workflows keep working and completeUpdate finishes it', async () => {
    const { provider, kms, bucket, options, t } = await world();
    const oldArn = kms.createKey('555566667777');
    const newArn = kms.createKey('555566667777');
    await enable(provider, oldArn);
    const state = t.directory.state();
    const first = await provider.backup('acct-1');
    expect(first.ok).toBe(true);
    bucket.broken = 'tenant-keys/';
    await expect(provider.updateKey('acct-1', newArn)).rejects.toThrow(/killed/);
    bucket.broken = undefined;

    const restarted = await Provider.open(options);
    expect(await restarted.view('acct-1')).toMatchObject({ phase: 'updating', keyArn: oldArn, updateInProgress: true });
    expect(await restarted.updateKey('acct-1', newArn)).toMatchObject({ ok: false, failure: { code: 'UpdateInProgress' } });
    expect(await restarted.backup('acct-1')).toMatchObject({ ok: true });
    t.directory.update('user', state.objects.user[0]!.id, { displayName: 'x' });
    expect(await restarted.restore('acct-1', { snapshotId: first.ok ? first.snapshot.id : '' })).toMatchObject({ ok: true });
    expect(compareDirectories(state, t.directory.state())).toEqual([]);

    expect(await restarted.completeUpdate('acct-1')).toMatchObject({ ok: true, transition: 'updating.completeUpdate.completed' });
    expect(await restarted.view('acct-1')).toMatchObject({ phase: 'ekmEnabled', keyArn: newArn, safeToRetire: [oldArn] });
    expect(await restarted.tenantKeyWrapping('acct-1')).toEqual({ keyArn: newArn, version: 1 });
  });

  it('[EKM-11] tick runs only the schedules that are due, of the account asked for', async () => {
    const { provider } = await world();
    const t2 = tenant();
    await provider.addAccount({ accountId: 'acct-2', tenants: [{ tenantId: t2.tenantId, clientId: t2.clientId, clientSecret: t2.clientSecret }] });
    const t0 = new Date('2026-05-01T00:00:00Z');
    await provider.schedule('acct-1', 60_000, t0);
    await provider.schedule('acct-2', 120_000, t0);
    expect(await provider.tick(new Date(t0.getTime() + 59_999))).toEqual([]);
    expect((await provider.tick(new Date(t0.getTime() + 60_000))).map((r) => r.accountId)).toEqual(['acct-1']);
    expect(await provider.tick(new Date(t0.getTime() + 120_000), { accountId: 'acct-1' })).toHaveLength(1);
    expect((await provider.tick(new Date(t0.getTime() + 120_000))).map((r) => r.accountId)).toEqual(['acct-2']);
    // A tick long after skips the missed runs: one backup, next due after `now`.
    expect(await provider.tick(new Date(t0.getTime() + 10 * 60_000), { accountId: 'acct-1' })).toHaveLength(1);
    expect(await provider.tick(new Date(t0.getTime() + 10 * 60_000 + 30_000), { accountId: 'acct-1' })).toEqual([]);
    expect(await provider.snapshots('acct-1')).toHaveLength(3);
  });

  it('[EKM-08] a tenant added after enabling gets its key under the customer key', async () => {
    const { provider, kms } = await world();
    const arn = kms.createKey('555566667777');
    await enable(provider, arn);
    const t2 = tenant();
    expect(await provider.addTenant('acct-1', { tenantId: t2.tenantId, clientId: t2.clientId, clientSecret: t2.clientSecret })).toMatchObject({ ok: true });
    expect(await provider.tenantKeyWrapping('acct-1', t2.tenantId)).toEqual({ keyArn: arn, version: 1 });
    expect(await provider.backup('acct-1', { tenantId: t2.tenantId })).toMatchObject({ ok: true, tenantId: t2.tenantId });
    expect(await provider.snapshots('acct-1', t2.tenantId)).toHaveLength(1);
    expect(await provider.snapshots('acct-1')).toHaveLength(0);
  });

  it('[EKM-12] a backup that Graph fails after retries reports GraphUnavailable and commits nothing; throttling within the retry budget is ridden out', async () => {
    const { provider, kms, bucket, t } = await world();
    await enable(provider, kms.createKey('555566667777'));
    t.faults.unavailableNext(1_000);
    const failed = await provider.backup('acct-1');
    expect(failed).toMatchObject({ ok: false, failure: { code: 'GraphUnavailable', kind: 'transient' } });
    expect(await bucket.list('snapshots/')).toEqual([]);
    expect(await provider.snapshots('acct-1')).toEqual([]);
    t.faults.clear();
    const faulted = t.faults.faulted;
    t.faults.throttleNext(3);
    expect(await provider.backup('acct-1')).toMatchObject({ ok: true });
    expect(t.faults.faulted - faulted).toBe(3);
  });

  it('[EKM-11] a restore or download of an unknown snapshot is refused without a KMS call', async () => {
    const { provider } = await world();
    expect(await provider.restore('acct-1')).toMatchObject({ ok: false, failure: { code: 'SnapshotNotFound' }, kmsCalls: { total: 0 } });
    expect(await provider.download('acct-1', { snapshotId: 'nope', file: '/nonexistent/x.zip' })).toMatchObject({
      ok: false,
      failure: { code: 'SnapshotNotFound' },
    });
  });
});
