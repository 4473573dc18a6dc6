import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FAILURES, type FailureCode } from '@ekm/domain';
import { compareDirectories, type DirectoryState, type MockTenant } from '@ekm/entra-mock';
import type { BackupResult, DownloadResult, Provider, RestoreResult } from '../src/provider.ts';
import { type Customer, startWorld, type World } from './support/test-world.ts';
import { readZip } from './support/zip-reader.ts';

let world: World;
let p: Provider;
let dir: string;

beforeAll(async () => {
  world = await startWorld(inject('localstackEndpoint'));
  p = world.provider;
  dir = await mkdtemp(join(tmpdir(), 'ekm-backup-'));
});
afterAll(async () => {
  await world?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Enabled {
  accountId: string;
  customer: Customer;
  tenant: MockTenant;
  arn: string;
  grantId?: string;
  material?: Uint8Array;
}

/** A product account with EKM enabled on a fresh customer key. */
async function enabled(options: { external?: boolean; viaGrant?: boolean; validTo?: Date } = {}): Promise<Enabled> {
  const a = await world.customerAccount();
  expect((await p.activate(a.accountId)).ok).toBe(true);
  const arn = await a.customer.createKey({ ...(options.external === true ? { external: true } : {}), allowProvider: options.viaGrant !== true });
  const material = options.external === true ? await a.customer.importMaterial(arn, undefined, options.validTo) : undefined;
  const grantId = options.viaGrant === true ? await a.customer.grantProvider(arn) : undefined;
  const submitted = await p.submitArn(a.accountId, arn);
  expect(submitted).toMatchObject({ ok: true });
  expect((await p.showTerms(a.accountId)).ok).toBe(true);
  expect(await p.acceptTerms(a.accountId)).toMatchObject({ ok: true, transition: 'termsShown.acceptTerms.enabled' });
  return { ...a, arn, ...(grantId === undefined ? {} : { grantId }), ...(material === undefined ? {} : { material }) };
}

/** The provider's calls on `arn` in the gateway's audit trail: the authority on KMS use (EKM-11). */
function audited(arn: string) {
  return world.gateway.control.audit.query({ callerAccount: world.providerAccount, keyArn: arn });
}

function expectFailure(result: BackupResult | RestoreResult | DownloadResult, code: FailureCode) {
  expect(result.ok).toBe(false);
  if (!result.ok) {
    expect(result.failure.code).toBe(code);
    expect(result.failure.kind).toBe(FAILURES[code].kind);
  }
}

/** Backup, restore and download all fail with `code`, commit nothing and lose nothing (EKM-12, EKM-18). */
async function expectAllFail(a: Enabled, codes: { backup: FailureCode; read: FailureCode }) {
  const before = await p.snapshots(a.accountId);
  const file = join(dir, `${a.accountId}-revoked.zip`);
  const backup = await p.backup(a.accountId);
  const restore = await p.restore(a.accountId);
  const download = await p.download(a.accountId, { file });
  expectFailure(backup, codes.backup);
  expectFailure(restore, codes.read);
  expectFailure(download, codes.read);
  // Refused at the one unwrap, before any data was read or written.
  for (const r of [backup, restore, download]) expect(r.kmsCalls).toEqual({ total: 1, byOperation: { Decrypt: 1 } });
  expect(await p.snapshots(a.accountId)).toEqual(before);
  expect(await p.orphans(a.accountId)).toEqual([]);
  expect(existsSync(file)).toBe(false);
  expect(existsSync(`${file}.partial`)).toBe(false);
}

/** After access comes back, every workflow works again and an earlier snapshot restores exactly (EKM-13). */
async function expectAllWork(a: Enabled, earlier: { snapshotId: string; state: DirectoryState }) {
  const backup = await p.backup(a.accountId);
  expect(backup.ok).toBe(true);
  const victim = earlier.state.objects.user[1]!;
  a.tenant.directory.update('user', victim.id, { jobTitle: 'changed after the backup' });
  a.tenant.directory.remove('user', earlier.state.objects.user[2]!.id, new Date());
  const restore = await p.restore(a.accountId, { snapshotId: earlier.snapshotId });
  expect(restore).toMatchObject({ ok: true, unrestorable: [] });
  expect(compareDirectories(earlier.state, a.tenant.directory.state())).toEqual([]);
  const file = join(dir, `${a.accountId}-${earlier.snapshotId}.zip`);
  expect(await p.download(a.accountId, { snapshotId: earlier.snapshotId, file })).toMatchObject({ ok: true });
  const users = readZip(await readFile(file)).find((e) => e.name === 'user.json')!;
  expect(JSON.parse(Buffer.from(users.data).toString('utf8'))).toEqual(earlier.state.objects.user);
}

async function baseline(a: Enabled): Promise<{ snapshotId: string; state: DirectoryState }> {
  const state = a.tenant.directory.state();
  const b = await p.backup(a.accountId);
  if (!b.ok) throw new Error(`baseline backup failed: ${b.failure.code}`);
  return { snapshotId: b.snapshot.id, state };
}

describe('workflows use the customer key (EKM-11)', () => {
  it('[EKM-11] a scheduled backup runs on the injected clock and makes one Decrypt with the customer key', async () => {
    const a = await enabled();
    const t0 = new Date('2026-03-01T00:00:00Z');
    await p.schedule(a.accountId, 3_600_000, t0);
    expect(await p.tick(new Date('2026-03-01T00:59:59Z'), { accountId: a.accountId })).toEqual([]);
    const audit = audited(a.arn).length;
    const [result, ...more] = await p.tick(new Date('2026-03-01T01:00:00Z'), { accountId: a.accountId });
    expect(more).toEqual([]);
    expect(result).toMatchObject({
      ok: true,
      workflow: 'scheduledBackup',
      transition: 'ekmEnabled.scheduledBackup.ok',
      kmsCalls: { total: 1, byOperation: { Decrypt: 1 } },
    });
    if (result?.ok) expect(result.snapshot).toMatchObject({ workflow: 'scheduledBackup', keyArn: a.arn, cloudKeyManagement: false, tenantKeyVersion: 1 });
    const calls = audited(a.arn).slice(audit);
    expect(calls.map((e) => [e.eventName, e.errorCode])).toEqual([['Decrypt', undefined]]);
    expect(calls[0]!.requestParameters?.['encryptionContext']).toEqual({ tenant: a.tenant.tenantId, purpose: 'tenant-key' });
    // Not due again until the next hour.
    expect(await p.tick(new Date('2026-03-01T01:30:00Z'), { accountId: a.accountId })).toEqual([]);
    expect(await p.tick(new Date('2026-03-01T02:00:00Z'), { accountId: a.accountId })).toHaveLength(1);
    expect(await p.snapshots(a.accountId)).toHaveLength(2);
  });

  it('[EKM-11] a manual backup makes one Decrypt with the customer key and stores a complete snapshot', async () => {
    const a = await enabled();
    const audit = audited(a.arn).length;
    const result = await p.backup(a.accountId);
    expect(result).toMatchObject({ ok: true, workflow: 'manualBackup', kmsCalls: { total: 1, byOperation: { Decrypt: 1 } } });
    expect(
      audited(a.arn)
        .slice(audit)
        .map((e) => e.eventName),
    ).toEqual(['Decrypt']);
    const [only] = await p.snapshots(a.accountId);
    expect(only).toMatchObject({ keyArn: a.arn, tenantId: a.tenant.tenantId });
    expect(only!.parts.map((x) => x.part)).toContain('user');
    expect(await p.orphans(a.accountId)).toEqual([]);
  });

  it('[EKM-11] an in-place restore of a whole snapshot makes one Decrypt and puts the tenant back', async () => {
    const a = await enabled();
    const earlier = await baseline(a);
    const users = earlier.state.objects.user;
    a.tenant.directory.update('user', users[0]!.id, { displayName: 'Mallory' });
    a.tenant.directory.remove('user', users[3]!.id, new Date());
    const group = earlier.state.objects.group[0]!;
    const members = earlier.state.links.find((l) => l.id === group.id && l.relation === 'members');
    if (members !== undefined) a.tenant.directory.removeLink('group', group.id, 'members', members.targets[0]!);
    const audit = audited(a.arn).length;
    const result = await p.restore(a.accountId);
    expect(result).toMatchObject({ ok: true, workflow: 'restore', snapshotId: earlier.snapshotId, kmsCalls: { total: 1 } });
    expect(
      audited(a.arn)
        .slice(audit)
        .map((e) => e.eventName),
    ).toEqual(['Decrypt']);
    expect(compareDirectories(earlier.state, a.tenant.directory.state())).toEqual([]);
  });

  it('[EKM-11] an in-place restore of chosen entities restores only those', async () => {
    const a = await enabled();
    const earlier = await baseline(a);
    const [u0, u1] = earlier.state.objects.user;
    a.tenant.directory.update('user', u0!.id, { displayName: 'changed 0' });
    a.tenant.directory.update('user', u1!.id, { displayName: 'changed 1' });
    const result = await p.restore(a.accountId, { entities: [{ kind: 'user', id: u0!.id }] });
    expect(result).toMatchObject({ ok: true, kmsCalls: { total: 1 } });
    const diff = compareDirectories(earlier.state, a.tenant.directory.state());
    expect(diff).toEqual([{ kind: 'user', id: u1!.id, change: 'changed', property: 'displayName', expected: u1!.displayName, actual: 'changed 1' }]);
    expect(await p.restore(a.accountId, { entities: [{ kind: 'user', id: 'no-such-user' }] })).toMatchObject({
      ok: false,
      failure: { code: 'SnapshotNotFound' },
    });
  });

  it('[EKM-11] a download writes a zip of JSON a person can open, for a whole snapshot or chosen entities', async () => {
    const a = await enabled();
    const earlier = await baseline(a);
    const whole = join(dir, `${a.accountId}-whole.zip`);
    const audit = audited(a.arn).length;
    const result = await p.download(a.accountId, { file: whole });
    expect(result).toMatchObject({ ok: true, workflow: 'download', file: whole, kmsCalls: { total: 1, byOperation: { Decrypt: 1 } } });
    expect(
      audited(a.arn)
        .slice(audit)
        .map((e) => e.eventName),
    ).toEqual(['Decrypt']);
    const entries = readZip(await readFile(whole));
    const json = (name: string) => JSON.parse(Buffer.from(entries.find((e) => e.name === name)!.data).toString('utf8')) as unknown;
    expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining(['snapshot.json', 'user.json', 'group.json', 'links.json', 'deleted.json']));
    expect(json('user.json')).toEqual(earlier.state.objects.user);
    expect(json('group.json')).toEqual(earlier.state.objects.group);
    expect(json('links.json')).toEqual(earlier.state.links);

    const user = earlier.state.objects.user[4]!;
    const partial = join(dir, `${a.accountId}-one.zip`);
    expect(await p.download(a.accountId, { file: partial, entities: [{ kind: 'user', id: user.id }] })).toMatchObject({ ok: true });
    const one = readZip(await readFile(partial));
    expect(JSON.parse(Buffer.from(one.find((e) => e.name === 'user.json')!.data).toString('utf8'))).toEqual([user]);
    expect(one.some((e) => e.name === 'group.json')).toBe(false);
  });

  it('[EKM-11] under Cloud Key Management the workflows use the provider key, not a customer key', async () => {
    const a = await world.customerAccount();
    const result = await p.backup(a.accountId);
    expect(result).toMatchObject({ ok: true, transition: 'notActivated.manualBackup.ok', kmsCalls: { total: 1 } });
    if (result.ok) expect(result.snapshot).toMatchObject({ keyArn: p.cloudKeyArn, cloudKeyManagement: true });
  });
});

describe('revocation and giving access back (EKM-12, EKM-13)', () => {
  it('[EKM-12][EKM-13][EKM-19] disabling the key fails the very next workflow of every kind with KeyDisabled; enabling it again restores everything', async () => {
    const a = await enabled();
    const earlier = await baseline(a);
    await a.customer.disable(a.arn);
    await expectAllFail(a, { backup: 'KeyDisabled', read: 'KeyDisabled' });
    await a.customer.enable(a.arn);
    await expectAllWork(a, earlier);
  });

  it('[EKM-12][EKM-13] removing the provider from the key policy fails every workflow with KeyAccessDenied; restoring the policy restores everything', async () => {
    const a = await enabled();
    const earlier = await baseline(a);
    await a.customer.denyProvider(a.arn);
    await expectAllFail(a, { backup: 'KeyAccessDenied', read: 'KeyAccessDenied' });
    await a.customer.allowProvider(a.arn);
    await expectAllWork(a, earlier);
  });

  it('[EKM-12][EKM-13] revoking the grant fails every workflow with KeyAccessDenied; a new grant restores everything', async () => {
    const a = await enabled({ viaGrant: true });
    const earlier = await baseline(a);
    await a.customer.revokeGrant(a.arn, a.grantId!);
    await expectAllFail(a, { backup: 'KeyAccessDenied', read: 'KeyAccessDenied' });
    await a.customer.grantProvider(a.arn);
    await expectAllWork(a, earlier);
  });

  it('[EKM-12][EKM-13] scheduling deletion fails every workflow with KeyPendingDeletion; cancelling it (and enabling) restores everything', async () => {
    const a = await enabled();
    const earlier = await baseline(a);
    await a.customer.scheduleDeletion(a.arn, 30);
    await expectAllFail(a, { backup: 'KeyPendingDeletion', read: 'KeyPendingDeletion' });
    await a.customer.cancelDeletion(a.arn);
    await a.customer.enable(a.arn);
    await expectAllWork(a, earlier);
  });

  it('[EKM-12][EKM-13][EKM-04] deleting imported key material fails every workflow with KeyMaterialUnavailable; re-importing the same material restores everything', async () => {
    const a = await enabled({ external: true });
    const earlier = await baseline(a);
    await a.customer.deleteMaterial(a.arn);
    await expectAllFail(a, { backup: 'KeyMaterialUnavailable', read: 'KeyMaterialUnavailable' });
    await a.customer.importMaterial(a.arn, a.material);
    await expectAllWork(a, earlier);
  });

  it('[EKM-12] expired imported key material fails every workflow with KeyMaterialUnavailable', async () => {
    const now = world.gateway.control.clock.now();
    const a = await enabled({ external: true, validTo: new Date(now.getTime() + 2 * 86_400_000) });
    await baseline(a);
    await world.gateway.control.clock.advance({ days: 3 });
    await expectAllFail(a, { backup: 'KeyMaterialUnavailable', read: 'KeyMaterialUnavailable' });
  });
});

describe('rotation and destruction (EKM-17, EKM-18)', () => {
  it('[EKM-17] rotating key material in KMS needs no console change and every snapshot stays restorable', async () => {
    const a = await enabled();
    const first = await baseline(a);
    const view = await p.view(a.accountId);
    await a.customer.rotate(a.arn);
    a.tenant.directory.update('user', first.state.objects.user[0]!.id, { jobTitle: 'after rotation' });
    const second = await baseline(a);
    expect(await p.view(a.accountId)).toEqual(view);
    expect(await p.restore(a.accountId, { snapshotId: first.snapshotId })).toMatchObject({ ok: true });
    expect(compareDirectories(first.state, a.tenant.directory.state())).toEqual([]);
    expect(await p.restore(a.accountId, { snapshotId: second.snapshotId })).toMatchObject({ ok: true });
    expect(compareDirectories(second.state, a.tenant.directory.state())).toEqual([]);
  });

  it('[EKM-18] after the key is deleted (waiting period over), restores and downloads say DataUnrecoverable, never transient', async () => {
    const a = await enabled();
    await baseline(a);
    await a.customer.scheduleDeletion(a.arn, 7);
    await world.gateway.control.clock.advance({ days: 8 });
    await expectAllFail(a, { backup: 'KeyDeleted', read: 'DataUnrecoverable' });
    const restore = await p.restore(a.accountId);
    expect(restore.ok === false && restore.failure.kind).toBe('permanent');
    expect(restore.transition).toBe('ekmEnabled.restore.failed');
  });
});

describe('a backup that dies midway (EKM-12)', () => {
  it('[EKM-12] a fault between data and manifest leaves no complete-looking snapshot; the next backup cleans up and succeeds', async () => {
    const a = await enabled();
    await baseline(a);
    const before = await p.snapshots(a.accountId);
    for (const hooks of [
      {
        afterDataWritten: () => {
          throw new Error('killed after the data objects');
        },
      },
      {
        beforeCommit: () => {
          throw new Error('killed before the manifest');
        },
      },
    ]) {
      const crashing = await world.reopen({ hooks });
      await expect(crashing.backup(a.accountId)).rejects.toThrow(/killed/);
      expect(await p.snapshots(a.accountId)).toEqual(before);
      expect((await p.orphans(a.accountId)).length).toBeGreaterThan(0);
    }
    const next = await p.backup(a.accountId);
    expect(next).toMatchObject({ ok: true });
    if (next.ok) expect(next.orphansRemoved).toBeGreaterThan(0);
    expect(await p.orphans(a.accountId)).toEqual([]);
    expect(await p.snapshots(a.accountId)).toHaveLength(before.length + 1);
  });
});

describe('one provider, many accounts', () => {
  it('[EKM-11] accounts run their workflows concurrently, each under its own key, and a reopened provider continues', async () => {
    const accounts = await Promise.all([enabled(), enabled(), enabled()]);
    const results = await Promise.all(accounts.map((a) => p.backup(a.accountId)));
    for (const [i, r] of results.entries()) {
      expect(r).toMatchObject({ ok: true, tenantId: accounts[i]!.tenant.tenantId });
      if (r.ok) expect(r.snapshot.keyArn).toBe(accounts[i]!.arn);
    }
    // One account's revocation does not touch the others.
    await accounts[0]!.customer.disable(accounts[0]!.arn);
    const again = await Promise.all(accounts.map((a) => p.backup(a.accountId)));
    expect(again.map((r) => (r.ok ? 'ok' : r.failure.code))).toEqual(['KeyDisabled', 'ok', 'ok']);

    const restarted = await world.reopen();
    expect(restarted.cloudKeyArn).toBe(p.cloudKeyArn);
    expect(await restarted.view(accounts[1]!.accountId)).toMatchObject({ keyArn: accounts[1]!.arn, externalKeyManagement: 'Enabled' });
    expect(await restarted.restore(accounts[1]!.accountId)).toMatchObject({ ok: true });
  });
});
