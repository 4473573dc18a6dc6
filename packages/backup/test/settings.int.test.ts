import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compareDirectories } from '@ekm/entra-mock';
import type { Provider } from '../src/provider.ts';
import { startWorld, type World } from './support/test-world.ts';

let world: World;
let p: Provider;

beforeAll(async () => {
  world = await startWorld(inject('localstackEndpoint'));
  p = world.provider;
});
afterAll(async () => world?.close());

async function activated() {
  const a = await world.customerAccount();
  expect((await p.activate(a.accountId)).ok).toBe(true);
  return a;
}

async function enable(accountId: string, arn: string) {
  expect(await p.submitArn(accountId, arn)).toMatchObject({ ok: true });
  expect(await p.showTerms(accountId)).toMatchObject({ ok: true });
  expect(await p.acceptTerms(accountId)).toMatchObject({ ok: true });
}

describe('enabling EKM', () => {
  it('[EKM-01] until support activates EKM the section is hidden and enabling is refused; activation shows it', async () => {
    const a = await world.customerAccount();
    const arn = await a.customer.createKey();
    expect(await p.view(a.accountId)).toMatchObject({ ekmSection: false, externalKeyManagement: 'Disabled', cloudKeyManagement: 'Enabled' });
    expect((await p.view(a.accountId)).providerAccountId).toBeUndefined();
    expect(await p.submitArn(a.accountId, arn)).toMatchObject({ ok: false, failure: { code: 'NotActivated' }, kmsCalls: { total: 0 } });
    expect(await p.acceptTerms(a.accountId)).toMatchObject({ ok: false, failure: { code: 'NotActivated' } });
    expect(await p.activate(a.accountId)).toMatchObject({ ok: true, transition: 'notActivated.activate' });
    expect(await p.view(a.accountId)).toMatchObject({ ekmSection: true });
    expect(await p.activate(a.accountId)).toMatchObject({ ok: false, failure: { code: 'AlreadyActivated' } });
  });

  it('[EKM-02] the EKM section shows the provider 12-digit account id, the principal the key policy must allow', async () => {
    const a = await activated();
    const view = await p.view(a.accountId);
    expect(view.providerAccountId).toMatch(/^\d{12}$/);
    expect(view.providerAccountId).toBe(world.providerAccount);
    // A key whose policy does not name that account is refused; naming it makes the same kind of key pass.
    const without = await a.customer.createKey({ allowProvider: false });
    expect(await p.submitArn(a.accountId, without)).toMatchObject({ ok: false, failure: { code: 'KeyAccessDenied' } });
    const withIt = await a.customer.createKey();
    expect(await p.submitArn(a.accountId, withIt)).toMatchObject({ ok: true });
    const calls = world.gateway.control.audit.query({ callerAccount: view.providerAccountId!, keyArn: withIt });
    expect(calls.length).toBeGreaterThan(0);
  });

  it('[EKM-03] only AWS KMS key ARNs are accepted; other clouds, aliases, other services and malformed input are refused without a KMS call', async () => {
    const a = await activated();
    const cases: [string, string][] = [
      ['https://myvault.vault.azure.net/keys/mykey/0123456789abcdef0123456789abcdef', 'UnsupportedKeyLocation'],
      ['projects/p/locations/global/keyRings/r/cryptoKeys/k', 'UnsupportedKeyLocation'],
      ['arn:aws:kms:us-east-1:111122223333:alias/backup', 'AliasNotAccepted'],
      ['arn:aws:s3:::my-bucket', 'InvalidKeyArn'],
      ['not an arn', 'InvalidKeyArn'],
    ];
    for (const [input, code] of cases) {
      const r = await p.submitArn(a.accountId, input);
      expect(r, input).toMatchObject({ ok: false, failure: { code }, kmsCalls: { total: 0 } });
      if (!r.ok) expect(r.failure.message.length).toBeGreaterThan(10);
    }
    expect(await p.view(a.accountId)).toMatchObject({ phase: 'cloudKms' });
  });

  it('[EKM-04] keys with imported material (Origin EXTERNAL) and multi-Region keys are accepted and protect backups', async () => {
    for (const options of [{ external: true }, { multiRegion: true }]) {
      const a = await activated();
      const arn = await a.customer.createKey(options);
      if (options.external === true) await a.customer.importMaterial(arn);
      await enable(a.accountId, arn);
      expect(await p.backup(a.accountId)).toMatchObject({ ok: true });
      expect(await p.restore(a.accountId)).toMatchObject({ ok: true });
    }
  });

  it('[EKM-05] asymmetric and HMAC keys are refused at validation', async () => {
    const a = await activated();
    const rsa = await a.customer.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT' });
    const hmac = await a.customer.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' });
    const r1 = await p.submitArn(a.accountId, rsa);
    const r2 = await p.submitArn(a.accountId, hmac);
    expect(r1).toMatchObject({ ok: false, failure: { code: 'UnsupportedKeySpec' } });
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['UnsupportedKeySpec', 'UnsupportedKeyUsage']));
    expect(await p.view(a.accountId)).toMatchObject({ phase: 'cloudKms' });
  });

  it('[EKM-06] validation uses the key and gives the precise reason; a refusal changes nothing, success confirms', async () => {
    const a = await activated();
    const c = a.customer;
    const missing = (await c.createKey()).replace(/key\/.*/, 'key/0b9f3a64-55a6-4cd8-9b7a-6a7e9e8e2f10');
    const disabled = await c.createKey();
    await c.disable(disabled);
    const pending = await c.createKey();
    await c.scheduleDeletion(pending, 30);
    const noMaterial = await c.createKey({ external: true });
    const denied = await c.createKey({ allowProvider: false });
    const cases: [string, string][] = [
      [missing, 'KeyNotFound'],
      [disabled, 'KeyDisabled'],
      [pending, 'KeyPendingDeletion'],
      [noMaterial, 'KeyMaterialUnavailable'],
      [denied, 'KeyAccessDenied'],
    ];
    const before = await p.view(a.accountId);
    for (const [arn, code] of cases) {
      const r = await p.submitArn(a.accountId, arn);
      expect(r, code).toMatchObject({ ok: false, failure: { code } });
      if (!r.ok) expect(r.findings.map((f) => f.code)).toContain(code);
      expect(await p.view(a.accountId)).toEqual(before);
    }
    const good = await c.createKey();
    const ok = await p.submitArn(a.accountId, good);
    expect(ok).toMatchObject({ ok: true, transition: 'cloudKms.submitArn.validated' });
    if (ok.ok) expect(ok.message).toMatch(/validated/);
    // Validation used the key from the provider's account.
    const used = world.gateway.control.audit.query({ callerAccount: world.providerAccount, keyArn: good }).map((e) => e.eventName);
    expect(used).toEqual(expect.arrayContaining(['GenerateDataKey', 'Decrypt']));
  });

  it('[EKM-07] declining the terms leaves Cloud Key Management in force and nothing changed; accepting enables', async () => {
    const a = await activated();
    const arn = await a.customer.createKey();
    expect(await p.submitArn(a.accountId, arn)).toMatchObject({ ok: true });
    expect(await p.acceptTerms(a.accountId)).toMatchObject({ ok: false, failure: { code: 'TermsNotAccepted' } });
    const terms = await p.showTerms(a.accountId);
    expect(terms.ok && terms.message).toMatch(/automatically disable Cloud Key Management/);
    expect(await p.declineTerms(a.accountId)).toMatchObject({ ok: true, transition: 'termsShown.declineTerms' });
    expect(await p.view(a.accountId)).toMatchObject({ phase: 'cloudKms', cloudKeyManagement: 'Enabled', externalKeyManagement: 'Disabled' });
    expect((await p.view(a.accountId)).keyArn).toBeUndefined();
    const b = await p.backup(a.accountId);
    expect(b.ok && b.snapshot.keyArn).toBe(p.cloudKeyArn);
    expect(world.gateway.control.audit.query({ callerAccount: world.providerAccount, keyArn: arn, eventName: ['Encrypt', 'ReEncrypt'] })).toEqual([]);
    await enable(a.accountId, arn);
    expect(await p.view(a.accountId)).toMatchObject({ phase: 'ekmEnabled' });
  });

  it('[EKM-08] enabling disables Cloud Key Management and moves earlier backups under the customer key', async () => {
    const a = await activated();
    const before = a.tenant.directory.state();
    expect(await p.tenantKeyWrapping(a.accountId)).toEqual({ keyArn: p.cloudKeyArn, version: 1 });
    const early = await p.backup(a.accountId);
    expect(early.ok && early.snapshot.cloudKeyManagement).toBe(true);
    const arn = await a.customer.createKey();
    await enable(a.accountId, arn);
    expect(await p.view(a.accountId)).toMatchObject({ cloudKeyManagement: 'Disabled', externalKeyManagement: 'Enabled' });
    expect(await p.tenantKeyWrapping(a.accountId)).toEqual({ keyArn: arn, version: 1 });
    // The snapshot taken under Cloud Key Management is now readable only through the customer key.
    await a.customer.disable(arn);
    expect(await p.restore(a.accountId)).toMatchObject({ ok: false, failure: { code: 'KeyDisabled' } });
    await a.customer.enable(arn);
    a.tenant.directory.update('user', before.objects.user[0]!.id, { displayName: 'x' });
    const audit = world.gateway.control.audit.query({ callerAccount: world.providerAccount, keyArn: arn }).length;
    expect(await p.restore(a.accountId, { snapshotId: early.ok ? early.snapshot.id : '' })).toMatchObject({ ok: true, kmsCalls: { total: 1 } });
    expect(
      world.gateway.control.audit
        .query({ callerAccount: world.providerAccount, keyArn: arn })
        .slice(audit)
        .map((e) => e.eventName),
    ).toEqual(['Decrypt']);
    expect(compareDirectories(before, a.tenant.directory.state())).toEqual([]);
  });

  it('[EKM-09] no operation returns an EKM account to Cloud Key Management', async () => {
    const a = await activated();
    const arn = await a.customer.createKey();
    await enable(a.accountId, arn);
    const view = await p.view(a.accountId);
    for (const attempt of [
      () => p.returnToCloudKms(a.accountId),
      () => p.submitArn(a.accountId, arn),
      () => p.declineTerms(a.accountId),
      () => p.activate(a.accountId),
    ]) {
      expect((await attempt()).ok).toBe(false);
    }
    expect(await p.returnToCloudKms(a.accountId)).toMatchObject({ ok: false, failure: { code: 'CannotReturnToCloudKms' } });
    expect(await p.view(a.accountId)).toEqual(view);
    const restarted = await world.reopen();
    expect(await restarted.returnToCloudKms(a.accountId)).toMatchObject({ ok: false, failure: { code: 'CannotReturnToCloudKms' } });
  });

  it('[EKM-10] after enabling, key management shows the key ARN and the status Enabled', async () => {
    const a = await activated();
    const arn = await a.customer.createKey();
    await enable(a.accountId, arn);
    expect(await p.view(a.accountId)).toMatchObject({ keyArn: arn, externalKeyManagement: 'Enabled', cloudKeyManagement: 'Disabled', updateInProgress: false });
    expect(await (await world.reopen()).view(a.accountId)).toMatchObject({ keyArn: arn, externalKeyManagement: 'Enabled' });
  });
});

describe('updating the key', () => {
  async function ekmAccount() {
    const a = await activated();
    const oldArn = await a.customer.createKey();
    await enable(a.accountId, oldArn);
    const state = a.tenant.directory.state();
    const b = await p.backup(a.accountId);
    if (!b.ok) throw new Error(b.failure.code);
    return { ...a, oldArn, state, snapshotId: b.snapshot.id };
  }

  it('[EKM-14] the new ARN is validated exactly like a first submission; on success it replaces the old one', async () => {
    const a = await ekmAccount();
    const disabled = await a.customer.createKey();
    await a.customer.disable(disabled);
    expect(await p.updateKey(a.accountId, disabled)).toMatchObject({ ok: false, failure: { code: 'KeyDisabled' } });
    expect(await p.updateKey(a.accountId, 'arn:aws:kms:us-east-1:111122223333:alias/new')).toMatchObject({ ok: false, failure: { code: 'AliasNotAccepted' } });
    expect(await p.updateKey(a.accountId, a.oldArn)).toMatchObject({ ok: false, failure: { code: 'SameKey' } });
    expect(await p.view(a.accountId)).toMatchObject({ keyArn: a.oldArn, phase: 'ekmEnabled' });
    const newArn = await a.customer.createKey();
    const r = await p.updateKey(a.accountId, newArn);
    expect(r).toMatchObject({ ok: true, transition: 'updating.completeUpdate.completed' });
    expect(await p.view(a.accountId)).toMatchObject({ keyArn: newArn, externalKeyManagement: 'Enabled', updateInProgress: false });
  });

  it('[EKM-15] if the old key is deactivated before the update completes, the update fails and the old ARN stays', async () => {
    const a = await ekmAccount();
    const newArn = await a.customer.createKey();
    await a.customer.disable(a.oldArn);
    const r = await p.updateKey(a.accountId, newArn);
    expect(r).toMatchObject({ ok: false, failure: { code: 'UpdateNeedsOldKey', kind: 'revocation' }, transition: 'updating.completeUpdate.failed' });
    expect(await p.view(a.accountId)).toMatchObject({ keyArn: a.oldArn, updateInProgress: false, safeToRetire: [] });
    // Nothing became unreadable through the update: with the old key back, the data restores.
    await a.customer.enable(a.oldArn);
    a.tenant.directory.update('user', a.state.objects.user[0]!.id, { displayName: 'x' });
    expect(await p.restore(a.accountId, { snapshotId: a.snapshotId })).toMatchObject({ ok: true });
    expect(compareDirectories(a.state, a.tenant.directory.state())).toEqual([]);
    // And the update can be made once the old key is usable.
    expect(await p.updateKey(a.accountId, newArn)).toMatchObject({ ok: true });
  });

  it('[EKM-16] once the update completes the old key is safe to retire: disabling and deleting it changes nothing', async () => {
    const a = await ekmAccount();
    const newArn = await a.customer.createKey();
    expect((await p.view(a.accountId)).safeToRetire).toEqual([]);
    expect(await p.updateKey(a.accountId, newArn)).toMatchObject({ ok: true });
    expect((await p.view(a.accountId)).safeToRetire).toEqual([a.oldArn]);
    expect(await p.tenantKeyWrapping(a.accountId)).toEqual({ keyArn: newArn, version: 1 });
    await a.customer.disable(a.oldArn);
    await a.customer.scheduleDeletion(a.oldArn, 7);
    await world.gateway.control.clock.advance({ days: 8 });
    const audit = world.gateway.control.audit.query({ callerAccount: world.providerAccount, keyArn: newArn }).length;
    expect(await p.backup(a.accountId)).toMatchObject({ ok: true });
    a.tenant.directory.update('user', a.state.objects.user[0]!.id, { displayName: 'x' });
    expect(await p.restore(a.accountId, { snapshotId: a.snapshotId })).toMatchObject({ ok: true });
    expect(compareDirectories(a.state, a.tenant.directory.state())).toEqual([]);
    expect(await p.download(a.accountId, { snapshotId: a.snapshotId, file: `/tmp/ekm-${a.accountId}.zip` })).toMatchObject({ ok: true });
    const { rm } = await import('node:fs/promises');
    await rm(`/tmp/ekm-${a.accountId}.zip`, { force: true });
    expect(
      world.gateway.control.audit
        .query({ callerAccount: world.providerAccount, keyArn: newArn })
        .slice(audit)
        .map((e) => e.eventName),
    ).toEqual(['Decrypt', 'Decrypt', 'Decrypt']);
  });
});
