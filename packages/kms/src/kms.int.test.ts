import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { constants, createPublicKey, publicEncrypt, randomBytes, randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  PutKeyPolicyCommand,
  DeleteImportedKeyMaterialCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
  type KeySpec,
  type KeyUsageType,
} from '@aws-sdk/client-kms';
import { startKmsGateway, type KmsGateway } from '@ekm/kms-gateway';
import type {} from '@ekm/localstack/vitest-setup';
import { createKmsClient, kmsPort } from './adapter.ts';
import { classify } from './classify.ts';
import type { ProviderFailure } from './failure-error.ts';
import { MemoryJournal, TenantKeys, unwrapTenantKey } from './hierarchy.ts';
import { decryptSnapshot, decryptSnapshotStream, encryptSnapshotStream } from './snapshot.ts';
import { refusalOf, validateKey } from './validate.ts';
import { codeOf } from '../testing/index.ts';

const REGION = 'us-east-1';
const account = () => String(randomInt(100_000, 999_999)) + String(randomInt(100_000, 999_999));

let gateway: KmsGateway;
beforeAll(async () => {
  gateway = await startKmsGateway({ localstackEndpoint: inject('localstackEndpoint') });
});
afterAll(async () => gateway?.close());

/**
 * A customer with its own account and KMS admin client, and a provider calling from
 * another account; fresh random accounts per test so tests never share keys.
 * `localstack`: straight to LocalStack, which lets any account use a key by its ARN and
 * enforces no key policy; `gateway`: through @ekm/kms-gateway, as the provider really
 * meets AWS KMS (policies, grants, AWS errors, audit trail).
 */
type Target = 'localstack' | 'gateway';

function world(target: Target = 'gateway') {
  const customer = account();
  const provider = account();
  const endpoint = target === 'gateway' ? gateway.endpoint : inject('localstackEndpoint');
  const admin = createKmsClient({ endpoint, region: REGION, account: customer });
  const providerClient = createKmsClient({ endpoint, region: REGION, account: provider });
  const port = kmsPort(providerClient, provider);
  const journal = new MemoryJournal();
  return { customer, provider, admin, providerClient, port, journal, keys: new TenantKeys(port, journal) };
}

function policy(owner: string, provider: string | undefined, providerActions: string[]) {
  const statements: object[] = [{ Sid: 'Owner', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' }];
  if (provider !== undefined) {
    statements.push({ Sid: 'Provider', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${provider}:root` }, Action: providerActions, Resource: '*' });
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

const PROVIDER_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];

async function createKey(
  admin: KMSClient,
  owner: string,
  provider: string | undefined,
  options: { actions?: string[]; keySpec?: KeySpec; keyUsage?: KeyUsageType } = {},
): Promise<string> {
  const out = await admin.send(
    new CreateKeyCommand({
      Policy: policy(owner, provider, options.actions ?? PROVIDER_ACTIONS),
      KeySpec: options.keySpec ?? 'SYMMETRIC_DEFAULT',
      KeyUsage: options.keyUsage ?? 'ENCRYPT_DECRYPT',
    }),
  );
  return out.KeyMetadata!.Arn!;
}

function entities(count: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < count; i++) yield Buffer.from(`${JSON.stringify({ id: `user-${i}`, displayName: `User ${i}`, mail: `user${i}@contoso.example` })}\n`);
    })(),
  );
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One backup as the provider runs it: unwrap once, stream the entities through the ESDK, drop the key. */
async function backup(keys: TenantKeys, tenant: string, snapshot: string, count: number): Promise<Buffer> {
  const key = await keys.unwrap(tenant);
  try {
    return await collect(encryptSnapshotStream(key, { tenant, snapshot }, entities(count)));
  } finally {
    key.drop();
  }
}

async function restore(keys: TenantKeys, tenant: string, snapshot: string, message: Uint8Array): Promise<Buffer> {
  const key = await keys.unwrap(tenant);
  try {
    return await collect(decryptSnapshotStream(key, { tenant, snapshot }, Readable.from([message])));
  } finally {
    key.drop();
  }
}

/** Onboarding then enabling EKM: tenant key under the provider's Cloud KM key, moved under customer key A. */
async function enabled(w: ReturnType<typeof world>, tenant = 't-1') {
  const cloudKey = await createKey(w.providerClient, w.provider, undefined);
  const a = await createKey(w.admin, w.customer, w.provider);
  await w.keys.create(tenant, cloudKey);
  await w.keys.rewrap(tenant, a);
  return { cloudKey, a };
}

describe('the provider against LocalStack KMS', () => {
  it('[EKM-06] [EKM-05] validation from the provider account: usable key ok, every refusal with its reason', async () => {
    const w = world();
    const regions = [REGION];
    const good = await createKey(w.admin, w.customer, w.provider);
    expect(await validateKey(w.port, good, { regions })).toMatchObject({ ok: true, findings: [] });

    const notShared = await createKey(w.admin, w.customer, undefined);
    const denied = await validateKey(w.port, notShared, { regions });
    expect(denied.ok).toBe(false);
    // Every withheld action is named (Decrypt cannot be tried without a ciphertext of the key).
    expect(denied.findings.map((f) => [f.code, f.message.match(/kms:[A-Z]\w+/)?.[0]])).toEqual([
      ['KeyAccessDenied', 'kms:DescribeKey'],
      ['KeyAccessDenied', 'kms:GenerateDataKey'],
    ]);
    expect(denied.findings[0]?.message).toContain(`do not allow account ${w.provider} to use kms:DescribeKey`);

    // Issue 18: Encrypt and GenerateDataKey allowed, DescribeKey and Decrypt not: both named, in one refusal.
    const half = await createKey(w.admin, w.customer, w.provider, { actions: ['kms:Encrypt', 'kms:GenerateDataKey*'] });
    const h = await validateKey(w.port, half, { regions });
    expect(refusalOf(h.findings)?.message).toBe(
      `The key policy or grants of the key ${half} do not allow account ${w.provider} to use kms:DescribeKey, kms:Decrypt. (2 problems: KeyAccessDenied.)`,
    );

    const noDecrypt = await createKey(w.admin, w.customer, w.provider, { actions: ['kms:DescribeKey', 'kms:GenerateDataKey*'] });
    const v = await validateKey(w.port, noDecrypt, { regions });
    expect(v.findings.map((f) => f.message)).toEqual([
      `The key policy or grants of the key ${noDecrypt} do not allow account ${w.provider} to use kms:Decrypt.`,
    ]);

    const rsa = await createKey(w.admin, w.customer, w.provider, { keySpec: 'RSA_2048' });
    expect((await validateKey(w.port, rsa, { regions })).findings.map((f) => f.code)).toEqual(['UnsupportedKeySpec']);
    const hmac = await createKey(w.admin, w.customer, w.provider, { keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' });
    expect((await validateKey(w.port, hmac, { regions })).findings.map((f) => f.code)).toEqual(['UnsupportedKeySpec', 'UnsupportedKeyUsage']);

    const disabled = await createKey(w.admin, w.customer, w.provider);
    await w.admin.send(new DisableKeyCommand({ KeyId: disabled }));
    expect((await validateKey(w.port, disabled, { regions })).findings.map((f) => f.code)).toEqual(['KeyDisabled']);

    const deleting = await createKey(w.admin, w.customer, w.provider);
    await w.admin.send(new ScheduleKeyDeletionCommand({ KeyId: deleting, PendingWindowInDays: 7 }));
    expect((await validateKey(w.port, deleting, { regions })).findings.map((f) => f.code)).toEqual(['KeyPendingDeletion']);

    const missing = good.replace(/key\/.*$/, 'key/00000000-0000-4000-8000-000000000000');
    expect((await validateKey(w.port, missing, { regions })).findings.map((f) => [f.code, f.kind])).toEqual([['KeyNotFound', 'input']]);
  });

  describe.each<Target>(['localstack', 'gateway'])('key lifecycle, %s', (target) => {
    it('[EKM-16] data encrypted under key A decrypts after a completed update to key B with A disabled', async () => {
      const w = world(target);
      const { a } = await enabled(w);
      const snapshot = await backup(w.keys, 't-1', 's-1', 50);
      const b = await createKey(w.admin, w.customer, w.provider);
      await w.keys.rewrap('t-1', b);
      await w.admin.send(new DisableKeyCommand({ KeyId: a }));
      expect((await w.keys.inForce('t-1')).keyArn).toBe(b);
      const restored = await restore(w.keys, 't-1', 's-1', snapshot);
      expect(restored.toString().split('\n')).toHaveLength(51);
      expect(restored.toString()).toContain('"id":"user-49"');
    });

    it('[EKM-15] an update attempted with key A already disabled fails with UpdateNeedsOldKey and leaves A in force', async () => {
      const w = world(target);
      const { a } = await enabled(w);
      const snapshot = await backup(w.keys, 't-1', 's-1', 5);
      const b = await createKey(w.admin, w.customer, w.provider);
      await w.admin.send(new DisableKeyCommand({ KeyId: a }));
      const before = await w.journal.read('t-1');
      try {
        await w.keys.rewrap('t-1', b);
        expect.unreachable();
      } catch (error) {
        expect((error as ProviderFailure).failure).toMatchObject({ code: 'UpdateNeedsOldKey', kind: 'revocation', field: a });
      }
      expect(await w.journal.read('t-1')).toEqual(before);
      // The failed update itself made nothing unreadable: with A enabled again, all data restores.
      await w.admin.send(new EnableKeyCommand({ KeyId: a }));
      expect((await restore(w.keys, 't-1', 's-1', snapshot)).toString()).toContain('"id":"user-4"');
      expect(await codeOf(() => w.keys.rewrap('t-1', b))).toBe('none');
    });

    /**
     * LocalStack Community keeps every material version and replaces the material on
     * RotateKeyOnDemand (models.py: previous_keys), which is what AWS does on both kinds of
     * rotation; it does not run automatic rotation at NextRotationDate, and answers
     * ListKeyRotations with 501. So automatic rotation is checked as enabled and scheduled,
     * and the material change itself is driven on demand, twice.
     */
    it('[EKM-17] automatic and on-demand rotation of the key leave all data decryptable', async () => {
      const w = world(target);
      const { a } = await enabled(w);
      const snapshots: [string, Buffer][] = [['s-1', await backup(w.keys, 't-1', 's-1', 20)]];
      await w.admin.send(new EnableKeyRotationCommand({ KeyId: a, RotationPeriodInDays: 90 }));
      const status = await w.admin.send(new GetKeyRotationStatusCommand({ KeyId: a }));
      expect(status.KeyRotationEnabled).toBe(true);
      expect(status.NextRotationDate).toBeInstanceOf(Date);
      snapshots.push(['s-2', await backup(w.keys, 't-1', 's-2', 20)]);
      const wrappedBefore = (await w.keys.inForce('t-1')).ciphertext;
      await w.admin.send(new RotateKeyOnDemandCommand({ KeyId: a }));
      snapshots.push(['s-3', await backup(w.keys, 't-1', 's-3', 20)]);
      await w.admin.send(new RotateKeyOnDemandCommand({ KeyId: a }));
      snapshots.push(['s-4', await backup(w.keys, 't-1', 's-4', 20)]);
      // No console change: the same wrapped tenant key stays in force and keeps unwrapping.
      expect((await w.keys.inForce('t-1')).ciphertext).toBe(wrappedBefore);
      for (const [id, message] of snapshots) {
        expect((await restore(w.keys, 't-1', id, message)).toString()).toContain('"id":"user-19"');
      }
      // A later key update still works from the rotated key.
      const b = await createKey(w.admin, w.customer, w.provider);
      await w.keys.rewrap('t-1', b);
      expect((await restore(w.keys, 't-1', 's-1', snapshots[0]![1])).toString()).toContain('"id":"user-0"');
    });

    it("[EKM-20] tenant t-1's key cannot be unwrapped as t-2, and a flipped byte in a snapshot is refused", async () => {
      const w = world(target);
      await enabled(w, 't-1');
      const wrapped = await w.keys.inForce('t-1');
      expect(await codeOf(() => unwrapTenantKey(w.port, 't-2', wrapped))).toBe('DataTampered');

      const message = await backup(w.keys, 't-1', 's-1', 100);
      const key = await w.keys.unwrap('t-1');
      try {
        const bad = Uint8Array.from(message);
        bad[Math.floor(bad.length / 2)]! ^= 0x04;
        expect(await codeOf(() => decryptSnapshot(key, bad, { tenant: 't-1', snapshot: 's-1' }))).toBe('DataTampered');
        expect(await codeOf(() => decryptSnapshot(key, message, { tenant: 't-1', snapshot: 's-2' }))).toBe('DataTampered');
        expect((await decryptSnapshot(key, message, { tenant: 't-1', snapshot: 's-1' })).length).toBeGreaterThan(0);
      } finally {
        key.drop();
      }
      if (target !== 'gateway') return;
      const kmsEvents = gateway.control.audit.query({ callerAccount: w.provider });
      expect(kmsEvents.length).toBeGreaterThan(0);
      for (const e of kmsEvents.filter((x) => ['Decrypt', 'Encrypt', 'GenerateDataKey', 'ReEncrypt'].includes(x.eventName))) {
        const params = e.requestParameters ?? {};
        const ctx = (params['encryptionContext'] ?? params['sourceEncryptionContext']) as Record<string, string> | undefined;
        expect(ctx?.['purpose']).toBeDefined();
      }
    });
  });

  it('[EKM-11] [EKM-19] one backup costs the same number of KMS calls for 10 and 10,000 entities (gateway audit trail)', async () => {
    const w = world();
    await enabled(w);
    const count = async (entitiesInTenant: number, snapshot: string) => {
      const before = gateway.control.audit.query({ callerAccount: w.provider }).length;
      const message = await backup(w.keys, 't-1', snapshot, entitiesInTenant);
      const events = gateway.control.audit.query({ callerAccount: w.provider }).slice(before);
      return { calls: events.map((e) => e.eventName), bytes: message.length };
    };
    const small = await count(10, 's-small');
    const large = await count(10_000, 's-large');
    expect(small.calls).toEqual(['Decrypt']);
    expect(large.calls).toEqual(small.calls);
    expect(large.bytes).toBeGreaterThan(100 * small.bytes);
    console.info(
      `[kms calls per backup] 10 entities: ${small.calls.length} (${small.calls.join(',')}), 10,000 entities: ${large.calls.length} (${large.calls.join(',')})`,
    );
  });

  it('[EKM-12] [EKM-19] after revocation the next workflow fails with one KMS call and no retry', async () => {
    const w = world();
    const { a } = await enabled(w);
    const key = await w.keys.unwrap('t-1');
    key.drop();
    await w.admin.send(new DisableKeyCommand({ KeyId: a }));
    const before = gateway.control.audit.query({ callerAccount: w.provider }).length;
    expect(await codeOf(() => w.keys.unwrap('t-1'))).toBe('KeyDisabled');
    const events = gateway.control.audit.query({ callerAccount: w.provider }).slice(before);
    expect(events.map((e) => [e.eventName, e.errorCode])).toEqual([['Decrypt', 'DisabledException']]);
  });

  it('[EKM-12] a key policy that drops the provider is reported as KeyAccessDenied naming the account and kms:Decrypt', async () => {
    const w = world();
    const { a } = await enabled(w);
    await w.admin.send(new PutKeyPolicyCommand({ KeyId: a, PolicyName: 'default', Policy: policy(w.customer, undefined, []) }));
    try {
      await w.keys.unwrap('t-1');
      expect.unreachable();
    } catch (error) {
      expect((error as ProviderFailure).failure).toMatchObject({ code: 'KeyAccessDenied', kind: 'revocation' });
      expect((error as ProviderFailure).failure.message).toContain(`do not allow account ${w.provider} to use kms:Decrypt`);
    }
  });

  it('[EKM-16] after a completed update, deleting the old key (waiting period over) changes nothing', async () => {
    const w = world();
    const { a } = await enabled(w);
    const snapshot = await backup(w.keys, 't-1', 's-1', 30);
    await w.keys.rewrap('t-1', await createKey(w.admin, w.customer, w.provider));
    await w.admin.send(new ScheduleKeyDeletionCommand({ KeyId: a, PendingWindowInDays: 7 }));
    await gateway.control.clock.advance({ days: 8 }, w.customer);
    expect(await codeOf(() => w.port.describe(a))).toBe('KeyNotFound');
    expect((await restore(w.keys, 't-1', 's-1', snapshot)).toString()).toContain('"id":"user-29"');
  });

  it('[EKM-18] a key deleted after its waiting period makes the data permanently unrecoverable, never transient', async () => {
    const w = world();
    const { a } = await enabled(w);
    await w.admin.send(new ScheduleKeyDeletionCommand({ KeyId: a, PendingWindowInDays: 7 }));
    expect(await codeOf(() => w.keys.unwrap('t-1'))).toBe('KeyPendingDeletion');
    await gateway.control.clock.advance({ days: 8 }, w.customer);
    try {
      await w.keys.unwrap('t-1');
      expect.unreachable();
    } catch (error) {
      expect((error as ProviderFailure).failure).toMatchObject({ code: 'KeyDeleted', kind: 'permanent' });
    }
  });

  it('[EKM-04] [EKM-12] [EKM-13] a key with imported material works; expired material revokes; re-importing the same material restores', async () => {
    const w = world();
    const cloudKey = await createKey(w.providerClient, w.provider, undefined);
    const created = await w.admin.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Policy: policy(w.customer, w.provider, PROVIDER_ACTIONS) }));
    const a = created.KeyMetadata!.Arn!;
    const material = randomBytes(32);
    const importMaterial = async (validTo: Date) => {
      const params = await w.admin.send(new GetParametersForImportCommand({ KeyId: a, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const publicKey = createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' });
      const wrapped = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
      await w.admin.send(
        new ImportKeyMaterialCommand({
          KeyId: a,
          ImportToken: params.ImportToken!,
          EncryptedKeyMaterial: wrapped,
          ExpirationModel: 'KEY_MATERIAL_EXPIRES',
          ValidTo: validTo,
        }),
      );
    };
    const now = () => gateway.control.clock.now(w.customer);
    await importMaterial(new Date(now().getTime() + 2 * 86_400_000));
    const v = await validateKey(w.port, a, { regions: [REGION] });
    expect(v).toMatchObject({ ok: true, key: { origin: 'EXTERNAL' } });

    await w.keys.create('t-1', cloudKey);
    await w.keys.rewrap('t-1', a);
    const snapshot = await backup(w.keys, 't-1', 's-1', 10);

    await gateway.control.clock.advance({ days: 3 }, w.customer);
    expect(await codeOf(() => w.keys.unwrap('t-1'))).toBe('KeyMaterialUnavailable');

    await importMaterial(new Date(now().getTime() + 30 * 86_400_000));
    expect((await restore(w.keys, 't-1', 's-1', snapshot)).toString()).toContain('"id":"user-9"');

    await w.admin.send(new DeleteImportedKeyMaterialCommand({ KeyId: a }));
    expect(await codeOf(() => w.keys.unwrap('t-1'))).toBe('KeyMaterialUnavailable');
  });

  it.each([
    ['throttle', 'KmsThrottled'],
    ['internal', 'KmsUnavailable'],
    ['dependencyTimeout', 'KmsUnavailable'],
  ] as const)('a %s fault is retried within the bounded budget, then reported as transient %s, never as a revocation', async (type, code) => {
    const w = world();
    await enabled(w);
    const name = `${type}-${w.provider}`;
    gateway.control.toxics.add({ name, type, operations: ['Decrypt'], account: w.provider });
    try {
      const before = gateway.control.audit.query({ callerAccount: w.provider }).length;
      try {
        await w.keys.unwrap('t-1');
        expect.unreachable();
      } catch (error) {
        expect((error as ProviderFailure).failure).toMatchObject({ code, kind: 'transient' });
      }
      const events = gateway.control.audit.query({ callerAccount: w.provider }).slice(before);
      expect(events.map((e) => e.eventName)).toEqual(['Decrypt', 'Decrypt', 'Decrypt']);
    } finally {
      gateway.control.toxics.remove(name);
    }
    const key = await w.keys.unwrap('t-1');
    key.drop();
  });

  it('[EKM-17] the on-demand rotation quota is LimitExceededException, reported as KmsQuotaExceeded (permanent), sent once, and the data stays readable', async () => {
    // LocalStack 4.10 allows 10 on-demand rotations per key (AWS KMS: 25); the gateway passes its answer through.
    const w = world();
    const { a } = await enabled(w);
    const message = await backup(w.keys, 't-1', 's-1', 5);
    let rotations = 0;
    let refusal: unknown;
    while (refusal === undefined && rotations < 30) {
      try {
        await w.admin.send(new RotateKeyOnDemandCommand({ KeyId: a }));
        rotations += 1;
      } catch (error) {
        refusal = error;
      }
    }
    expect(rotations).toBeGreaterThanOrEqual(10);
    expect((refusal as { name?: string }).name).toBe('LimitExceededException');
    const f = classify(refusal, { operation: 'RotateKeyOnDemand', keyArn: a });
    expect(f).toMatchObject({ code: 'KmsQuotaExceeded', kind: 'permanent', field: a });
    expect(f.message).toMatch(/quota .* is reached \(LimitExceededException: The on-demand rotations limit has been reached/);
    expect(f.message).not.toMatch(/throttl|retried/i);
    // Not retried as throttling: one RotateKeyOnDemand per attempt in the audit trail, the refused one included.
    const calls = gateway.control.audit.query({ callerAccount: w.customer }).filter((e) => e.eventName === 'RotateKeyOnDemand');
    expect(calls).toHaveLength(rotations + 1);
    expect(calls.at(-1)?.errorCode).toBe('LimitExceededException');
    expect((await restore(w.keys, 't-1', 's-1', message)).toString()).toContain('"id":"user-0"');
  });
});
