/**
 * Tenant isolation (EKM-20): the provider's store is only as trustworthy as whoever can
 * write to it, so these tests play an attacker with write access to the bucket who moves
 * one tenant's protected data under another tenant's name. The encryption context, not
 * the storage layout, must refuse it, and KMS's refusal must show in the audit trail.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMockTenant, generateTenant, type MockTenant } from '@ekm/entra-mock';
import { localstackCredentials } from '@ekm/kms/testing';
import { S3Bucket } from '../src/bucket.ts';
import type { Manifest } from '../src/snapshots.ts';
import { REGION, startWorld, type World } from './support/test-world.ts';

let world: World;
let bucket: S3Bucket;
let accountId: string;
let tenantA: MockTenant;
let tenantB: MockTenant;
let arn: string;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

beforeAll(async () => {
  world = await startWorld(inject('localstackEndpoint'));
  bucket = await S3Bucket.open({
    endpoint: inject('localstackEndpoint'),
    region: REGION,
    credentials: localstackCredentials(world.providerAccount),
    bucket: `ekm-backups-${world.providerAccount}`,
  });
  const a = await world.customerAccount(8);
  accountId = a.accountId;
  tenantA = a.tenant;
  tenantB = createMockTenant(generateTenant({ seed: 4242, referenceDate: new Date('2026-01-01T00:00:00Z'), users: 8 }));
  world.graph.addTenant(tenantB);
  expect((await world.provider.addTenant(accountId, { tenantId: tenantB.tenantId, clientId: tenantB.clientId, clientSecret: tenantB.clientSecret })).ok).toBe(
    true,
  );
  expect((await world.provider.activate(accountId)).ok).toBe(true);
  arn = await a.customer.createKey();
  expect((await world.provider.submitArn(accountId, arn)).ok).toBe(true);
  expect((await world.provider.showTerms(accountId)).ok).toBe(true);
  expect((await world.provider.acceptTerms(accountId)).ok).toBe(true);
});
afterAll(async () => world?.close());

async function latest(tenantId: string): Promise<Manifest> {
  const backup = await world.provider.backup(accountId, { tenantId });
  if (!backup.ok) throw new Error(`backup of ${tenantId} failed: ${backup.failure.code}`);
  return backup.snapshot;
}

describe('tenant isolation', () => {
  it("[EKM-20] tenant A's snapshot put under tenant B's name, with B's manifest, is refused as tampered", async () => {
    const a = await latest(tenantA.tenantId);
    const b = await latest(tenantB.tenantId);
    // A's data object (every part, back to back) put under B's name, and B's manifest made to describe it: offsets, sizes and hashes all match.
    const objectB = b.parts[0]!.object;
    await bucket.put(objectB, (await bucket.get(a.parts[0]!.object))!.body);
    const parts = a.parts.map((p) => ({ ...p, object: objectB }));
    const manifestKey = b.parts[0]!.object.replace(/[^/]+$/, 'manifest.json');
    await bucket.put(manifestKey, JSON.stringify({ ...b, parts }));

    const restored = await world.provider.restore(accountId, { tenantId: tenantB.tenantId, snapshotId: b.id });
    expect(restored.ok).toBe(false);
    if (!restored.ok) expect(restored.failure.code).toBe('DataTampered');
    const download = await world.provider.download(accountId, { tenantId: tenantB.tenantId, snapshotId: b.id, file: '/nonexistent-dir/never-written.zip' });
    expect(download.ok).toBe(false);
    if (!download.ok) expect(download.failure.code).toBe('DataTampered');
  });

  it("[EKM-20] tenant A's wrapped tenant key presented as tenant B's is refused by KMS, and the audit trail shows it (regression: it was reported as KmsUnavailable, a transient failure)", async () => {
    await latest(tenantB.tenantId);
    const key = (t: MockTenant) => `tenant-keys/${encodeURIComponent(t.tenantId)}.json`;
    const entryA = JSON.parse(text((await bucket.get(key(tenantA)))!.body)) as { inForce: { ciphertext: string } };
    const storedB = (await bucket.get(key(tenantB)))!;
    const entryB = JSON.parse(text(storedB.body)) as { inForce: { ciphertext: string } };
    await bucket.put(key(tenantB), JSON.stringify({ ...entryB, inForce: { ...entryB.inForce, ciphertext: entryA.inForce.ciphertext } }));
    try {
      const since = world.gateway.control.clock.now(world.providerAccount);
      const backup = await world.provider.backup(accountId, { tenantId: tenantB.tenantId });
      expect(backup.ok).toBe(false);
      if (!backup.ok) expect(backup.failure.code).toBe('DataTampered');
      const refused = world.gateway.control.audit.query({ callerAccount: world.providerAccount, keyArn: arn, eventName: 'Decrypt', failed: true, since });
      expect(refused).toHaveLength(1);
      expect(refused[0]!.errorCode).toBe('InvalidCiphertextException');
      expect(refused[0]!.requestParameters?.['encryptionContext']).toEqual({ tenant: tenantB.tenantId, purpose: 'tenant-key' });
    } finally {
      await bucket.put(key(tenantB), storedB.body);
    }
    // Put back, B's own key works again: the refusal was about the swapped blob, not the tenant.
    expect((await world.provider.backup(accountId, { tenantId: tenantB.tenantId })).ok).toBe(true);
  });
});
