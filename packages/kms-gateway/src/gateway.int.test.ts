import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CancelKeyDeletionCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListGrantsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import type {} from '@ekm/localstack/vitest-setup';
import { DAY_MS, startKmsGateway, type KmsGateway } from './index.ts';

const REGION = 'us-east-1';
let gateway: KmsGateway;
let auditDir: string;

beforeAll(async () => {
  auditDir = mkdtempSync(join(tmpdir(), 'kms-gateway-audit-'));
  gateway = await startKmsGateway({ localstackEndpoint: inject('localstackEndpoint'), seed: 7, auditFile: join(auditDir, 'audit.jsonl') });
});

afterAll(async () => {
  await gateway?.close();
  rmSync(auditDir, { recursive: true, force: true });
});

let nextAccount = 100_000_000_000 + Math.floor(Math.random() * 800_000_000_000);
/** Every test gets its own pair of accounts, as scenarios sharing one gateway do. */
function accounts() {
  const owner = String(nextAccount++);
  const provider = String(nextAccount++);
  const role = `arn:aws:iam::${provider}:role/backup-service`;
  gateway.control.principals.set(provider, role);
  return { owner, provider, role };
}

function client(account: string, extra: Partial<KMSClientConfig> = {}): KMSClient {
  return new KMSClient({
    endpoint: gateway.endpoint,
    region: REGION,
    credentials: { accessKeyId: account, secretAccessKey: 'test' },
    maxAttempts: 1,
    ...extra,
  });
}

function keyPolicy(owner: string, provider?: string): string {
  const statements: object[] = [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' },
  ];
  if (provider !== undefined) {
    statements.push({
      Sid: 'Allow use of the key by the provider',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${provider}:root` },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      Resource: '*',
    });
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

async function error(promise: Promise<unknown>): Promise<{ name: string; message: string; attempts: number | undefined; status: number | undefined }> {
  try {
    await promise;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { attempts?: number; httpStatusCode?: number } };
    return { name: err.name, message: err.message, attempts: err.$metadata?.attempts, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

async function customerKey(admin: KMSClient, owner: string, provider?: string) {
  const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Policy: keyPolicy(owner, provider) }));
  return KeyMetadata!.Arn!;
}

const context = { tenant: 'tenant-1', purpose: 'tenant-key' };

describe('key policy', () => {
  it('[EKM-12][EKM-13] removing the provider statement denies its Decrypt; putting it back allows it again', async () => {
    const { owner, provider, role } = accounts();
    const admin = client(owner);
    const svc = client(provider);
    const arn = await customerKey(admin, owner, provider);
    const { CiphertextBlob } = await svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }));
    // Decrypt without KeyId from another account, as AWS allows.
    await expect(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }))).resolves.toMatchObject({ KeyId: arn });

    await admin.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: keyPolicy(owner) }));
    const denied = await error(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })));
    expect(denied).toMatchObject({
      name: 'AccessDeniedException',
      message: `User: ${role} is not authorized to perform: kms:Decrypt on resource: ${arn} because no resource-based policy allows the kms:Decrypt action`,
      status: 400,
    });

    await admin.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: keyPolicy(owner, provider) }));
    await expect(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }))).resolves.toMatchObject({ KeyId: arn });

    const decrypts = gateway.control.audit.query({ callerAccount: provider, keyArn: arn, eventName: 'Decrypt' });
    expect(decrypts.map((e) => e.errorCode ?? 'ok')).toEqual(['ok', 'AccessDeniedException', 'ok']);
  });

  it('[EKM-12] an explicit Deny for the provider role wins over the account-wide Allow', async () => {
    const { owner, provider, role } = accounts();
    const admin = client(owner);
    const arn = await customerKey(admin, owner, provider);
    const policy = JSON.parse(keyPolicy(owner, provider)) as { Statement: object[] };
    policy.Statement.push({ Effect: 'Deny', Principal: { AWS: role }, Action: 'kms:Decrypt', Resource: '*' });
    await admin.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: JSON.stringify(policy) }));
    const { CiphertextBlob } = await client(provider).send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: context }));
    expect(await error(client(provider).send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })))).toMatchObject({
      name: 'AccessDeniedException',
      message: `User: ${role} is not authorized to perform: kms:Decrypt on resource: ${arn} with an explicit deny in a resource-based policy`,
    });
  });

  it('[EKM-20] a policy condition on the encryption context refuses other tenants', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const arn = await customerKey(admin, owner, provider);
    const policy = JSON.parse(keyPolicy(owner, provider)) as { Statement: Record<string, unknown>[] };
    policy.Statement[1]!['Condition'] = { StringEquals: { 'kms:EncryptionContext:purpose': 'tenant-key' }, Null: { 'kms:EncryptionContextKeys': 'false' } };
    await admin.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: JSON.stringify(policy) }));
    const svc = client(provider);
    await expect(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }))).resolves.toBeDefined();
    expect((await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' })))).name).toBe('AccessDeniedException');
    expect(
      (await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: { purpose: 'other' } })))).name,
    ).toBe('AccessDeniedException');
  });

  it('[EKM-12] ScheduleKeyDeletion and PutKeyPolicy are refused cross-account whatever the policy says', async () => {
    const { owner, provider, role } = accounts();
    const admin = client(owner);
    const everything = JSON.stringify({
      Statement: [{ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${owner}:root`, `arn:aws:iam::${provider}:root`] }, Action: 'kms:*', Resource: '*' }],
    });
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Policy: everything }));
    const arn = KeyMetadata!.Arn!;
    const svc = client(provider);
    expect(await error(svc.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 })))).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`User: ${role} is not authorized to perform: kms:ScheduleKeyDeletion on resource: ${arn}`),
    });
    expect((await error(svc.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: everything })))).name).toBe(
      'AccessDeniedException',
    );
    expect((await admin.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe('Enabled');
  });

  it('[EKM-06] a caller the policy does not allow learns nothing about the key state', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Policy: keyPolicy(owner) }));
    expect((await error(client(provider).send(new GenerateDataKeyCommand({ KeyId: KeyMetadata!.Arn, KeySpec: 'AES_256' })))).name).toBe(
      'AccessDeniedException',
    );
  });

  it('a PutKeyPolicy that would lock the caller out is refused like AWS', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const arn = await customerKey(admin, owner, provider);
    expect(await error(admin.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: keyPolicy(provider) })))).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      message: 'The new key policy will not allow you to update the key policy in the future.',
    });
  });
});

describe('grants', () => {
  it('[EKM-12][EKM-13] a grant lets the provider use the key; revoking it stops the grantee', async () => {
    const { owner, provider, role } = accounts();
    const admin = client(owner);
    const arn = await customerKey(admin, owner); // the policy names only the owner
    const svc = client(provider);
    expect((await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context })))).name).toBe(
      'AccessDeniedException',
    );
    const { GrantId } = await admin.send(
      new CreateGrantCommand({
        KeyId: arn,
        GranteePrincipal: role,
        Operations: ['GenerateDataKey', 'Decrypt'],
        Constraints: { EncryptionContextSubset: { tenant: 'tenant-1' } },
      }),
    );
    const { CiphertextBlob } = await svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }));
    await expect(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }))).resolves.toMatchObject({ KeyId: arn });
    // The constraint: another tenant's context is outside the grant.
    expect(
      (await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: { tenant: 'tenant-2' } })))).name,
    ).toBe('AccessDeniedException');
    // An operation the grant does not list.
    expect((await error(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: context })))).name).toBe(
      'AccessDeniedException',
    );
    expect((await admin.send(new ListGrantsCommand({ KeyId: arn }))).Grants?.map((g) => g.GrantId)).toContain(GrantId);

    await admin.send(new RevokeGrantCommand({ KeyId: arn, GrantId }));
    expect(await error(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })))).toMatchObject({
      name: 'AccessDeniedException',
      message: `User: ${role} is not authorized to perform: kms:Decrypt on resource: ${arn} because no resource-based policy allows the kms:Decrypt action`,
    });
  });

  it('[EKM-12] a grant retired by its grantee with the grant token stops working', async () => {
    const { owner, provider, role } = accounts();
    const admin = client(owner);
    const arn = await customerKey(admin, owner);
    const { GrantToken } = await admin.send(
      new CreateGrantCommand({ KeyId: arn, GranteePrincipal: role, RetiringPrincipal: role, Operations: ['GenerateDataKey'] }),
    );
    const svc = client(provider);
    await expect(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' }))).resolves.toBeDefined();
    await svc.send(new RetireGrantCommand({ GrantToken }));
    expect((await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' })))).name).toBe('AccessDeniedException');
  });

  it('[EKM-20] an EncryptionContextEquals grant needs exactly that context', async () => {
    const { owner, provider, role } = accounts();
    const admin = client(owner);
    const arn = await customerKey(admin, owner);
    await admin.send(new CreateGrantCommand({ KeyId: arn, GranteePrincipal: role, Operations: ['Encrypt'], Constraints: { EncryptionContextEquals: context } }));
    const svc = client(provider);
    await expect(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: context }))).resolves.toBeDefined();
    expect(
      (await error(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: { ...context, extra: 'y' } })))).name,
    ).toBe('AccessDeniedException');
  });
});

describe('key lifecycle on the gateway clock', () => {
  it('[EKM-12][EKM-18] after the deletion window passes every call gets NotFoundException', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const svc = client(provider);
    const arn = await customerKey(admin, owner, provider);
    const { CiphertextBlob } = await svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }));
    const scheduled = await admin.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    expect(scheduled.DeletionDate?.getTime()).toBe(gateway.control.clock.now(owner).getTime() + 7 * DAY_MS);
    expect(await error(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })))).toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${arn} is pending deletion.`,
    });
    await gateway.control.clock.advance({ days: 6 }, owner);
    expect((await admin.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe('PendingDeletion');
    await gateway.control.clock.advance({ days: 1 }, owner);
    for (const call of [
      svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })),
      admin.send(new DescribeKeyCommand({ KeyId: arn })),
      admin.send(new CancelKeyDeletionCommand({ KeyId: arn })),
    ]) {
      expect(await error(call)).toMatchObject({ name: 'NotFoundException', message: `Key '${arn}' does not exist` });
    }
  });

  it('[EKM-18] advancing one account\'s time leaves the keys of concurrent scenarios alone', async () => {
    const a = accounts();
    const b = accounts();
    const keyA = await customerKey(client(a.owner), a.owner);
    const keyB = await customerKey(client(b.owner), b.owner);
    await client(a.owner).send(new ScheduleKeyDeletionCommand({ KeyId: keyA, PendingWindowInDays: 7 }));
    await client(b.owner).send(new ScheduleKeyDeletionCommand({ KeyId: keyB, PendingWindowInDays: 7 }));
    await gateway.control.clock.advance({ days: 8 }, a.owner);
    expect((await error(client(a.owner).send(new DescribeKeyCommand({ KeyId: keyA })))).name).toBe('NotFoundException');
    expect((await client(b.owner).send(new DescribeKeyCommand({ KeyId: keyB }))).KeyMetadata?.KeyState).toBe('PendingDeletion');
  });

  it('[EKM-13] CancelKeyDeletion inside the window leaves the key Disabled, like AWS', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const svc = client(provider);
    const arn = await customerKey(admin, owner, provider);
    await admin.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 30 }));
    await gateway.control.clock.advance({ days: 29 }, owner);
    await admin.send(new CancelKeyDeletionCommand({ KeyId: arn }));
    expect((await admin.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe('Disabled');
    expect(await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context })))).toMatchObject({
      name: 'DisabledException',
      message: `${arn} is disabled.`,
    });
    await gateway.control.clock.advance({ days: 2 }, owner);
    await admin.send(new EnableKeyCommand({ KeyId: arn }));
    await expect(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }))).resolves.toBeDefined();
  });

  it('[EKM-04][EKM-12][EKM-13] imported material past ValidTo makes the key pending import; re-importing it restores access', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const svc = client(provider);
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Policy: keyPolicy(owner, provider) }));
    const arn = KeyMetadata!.Arn!;
    expect(await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context })))).toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${arn} is pending import.`,
    });
    const material = randomBytes(32);
    const importMaterial = async () => {
      const params = await admin.send(
        new GetParametersForImportCommand({ KeyId: arn, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }),
      );
      const wrapped = publicEncrypt(
        { key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        material,
      );
      await admin.send(
        new ImportKeyMaterialCommand({
          KeyId: arn,
          ImportToken: params.ImportToken,
          EncryptedKeyMaterial: wrapped,
          ExpirationModel: 'KEY_MATERIAL_EXPIRES',
          ValidTo: new Date(gateway.control.clock.now(owner).getTime() + DAY_MS),
        }),
      );
    };
    await importMaterial();
    const { CiphertextBlob } = await svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }));
    expect((await admin.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.ExpirationModel).toBe('KEY_MATERIAL_EXPIRES');

    await gateway.control.clock.advance({ days: 2 }, owner);
    expect(await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context })))).toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${arn} is pending import.`,
    });
    expect((await error(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })))).name).toBe('KMSInvalidStateException');
    expect((await admin.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe('PendingImport');

    await importMaterial();
    await expect(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }))).resolves.toMatchObject({ KeyId: arn });

    // Deleting the material by hand bites the same way, and the same material brings the data back.
    await admin.send(new DeleteImportedKeyMaterialCommand({ KeyId: arn }));
    expect(await error(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })))).toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${arn} is pending import.`,
    });
    await importMaterial();
    await expect(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }))).resolves.toMatchObject({ KeyId: arn });
  });

  it('[EKM-14][EKM-16] ReEncrypt from the old key to the new one works cross-account without SourceKeyId', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const svc = client(provider);
    const oldKey = await customerKey(admin, owner, provider);
    const newKey = await customerKey(admin, owner, provider);
    const { CiphertextBlob } = await svc.send(new GenerateDataKeyCommand({ KeyId: oldKey, KeySpec: 'AES_256', EncryptionContext: context }));
    const moved = await svc.send(
      new ReEncryptCommand({ CiphertextBlob, SourceEncryptionContext: context, DestinationKeyId: newKey, DestinationEncryptionContext: context }),
    );
    expect(moved).toMatchObject({ SourceKeyId: oldKey, KeyId: newKey });
    await admin.send(new DisableKeyCommand({ KeyId: oldKey }));
    await expect(svc.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, EncryptionContext: context }))).resolves.toMatchObject({ KeyId: newKey });
    const events = gateway.control.audit.query({ keyArn: newKey, eventName: 'ReEncrypt' });
    expect(events[0]?.resources.map((r) => r.ARN)).toEqual([oldKey, newKey]);
  });
});

describe('AWS error forms', () => {
  it('[EKM-06] bad identifiers, wrong context, wrong key and wrong usage give the texts recorded from AWS', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const svc = client(provider);
    const arn = await customerKey(admin, owner, provider);
    const other = await customerKey(admin, owner, provider);
    const { CiphertextBlob } = await svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: context }));

    expect(await error(admin.send(new DescribeKeyCommand({ KeyId: 'not-a-key' })))).toMatchObject({ name: 'NotFoundException', message: "Invalid keyId 'not-a-key'" });
    const missing = `arn:aws:kms:${REGION}:${owner}:key/00000000-0000-4000-8000-000000000000`;
    expect(await error(svc.send(new DescribeKeyCommand({ KeyId: missing })))).toMatchObject({ name: 'NotFoundException', message: `Key '${missing}' does not exist` });
    expect(await error(svc.send(new DescribeKeyCommand({ KeyId: arn.replace(REGION, 'eu-west-1') })))).toMatchObject({
      name: 'NotFoundException',
      message: 'Invalid arn eu-west-1',
    });
    expect(await error(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { tenant: 'tenant-2' } })))).toMatchObject({
      name: 'InvalidCiphertextException',
      message: 'UnknownError',
    });
    expect((await error(svc.send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a blob at all'), KeyId: arn })))).name).toBe(
      'InvalidCiphertextException',
    );
    expect(await error(svc.send(new DecryptCommand({ CiphertextBlob, KeyId: other, EncryptionContext: context })))).toMatchObject({
      name: 'IncorrectKeyException',
      message: 'The key ID in the request does not identify a CMK that can perform this operation.',
    });
    const { KeyMetadata: signing } = await admin.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }));
    expect(await error(admin.send(new EncryptCommand({ KeyId: signing!.Arn, Plaintext: Buffer.from('x') })))).toMatchObject({
      name: 'InvalidKeyUsageException',
      message: `${signing!.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
    });
    expect((await error(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).name).toBe(
      'InvalidKeyUsageException',
    );
    expect(await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn })))).toMatchObject({
      name: 'ValidationException',
      message: 'Please specify either number of bytes or key spec.',
    });
    expect(await error(svc.send(new DecryptCommand({ CiphertextBlob: Buffer.from('x'.repeat(80)) })))).toMatchObject({ name: 'InvalidCiphertextException', status: 400 });
    expect((await error(admin.send(new CreateKeyCommand({ Policy: '{not json' })))).name).toBe('MalformedPolicyDocumentException');
    await admin.send(new DisableKeyCommand({ KeyId: arn }));
    expect(await error(svc.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })))).toMatchObject({
      name: 'DisabledException',
      message: `${arn} is disabled.`,
    });
  });
});

describe('fault toxics', () => {
  async function faultOf(type: 'throttle' | 'internal' | 'dependencyTimeout' | 'reset' | 'timeout') {
    const { owner, provider } = accounts();
    const arn = await customerKey(client(owner), owner, provider);
    const name = `${type}-${provider}`;
    gateway.control.toxics.add({ name, type, keyArn: arn, operations: ['GenerateDataKey'] });
    const svc = client(provider, { maxAttempts: 2, requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true } });
    const result = await error(svc.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context })));
    gateway.control.toxics.remove(name);
    const seen = gateway.control.audit.query({ keyArn: arn, eventName: 'GenerateDataKey' }).filter((e) => e.toxic === name).length;
    return { ...result, seen };
  }

  it.each([
    ['throttle', 'ThrottlingException', 400],
    ['internal', 'KMSInternalException', 500],
    ['dependencyTimeout', 'DependencyTimeoutException', 503],
  ] as const)('[EKM-12] the %s toxic answers %s (HTTP %i), which the SDK retries as transient', async (type, name, status) => {
    const r = await faultOf(type);
    expect(r).toMatchObject({ name, status, attempts: 2, seen: 2 });
  });

  it('[EKM-12] the reset toxic drops the connection, which the SDK retries', async () => {
    const r = await faultOf('reset');
    expect(r.attempts).toBe(2);
    expect(r.seen).toBe(2);
    expect(r.name).not.toMatch(/Exception$/);
  });

  it('[EKM-12] the timeout toxic hangs until the client gives up, which the SDK retries', async () => {
    const r = await faultOf('timeout');
    expect(r).toMatchObject({ name: 'TimeoutError', attempts: 2, seen: 2 });
  });

  it('[EKM-12] an AccessDeniedException is not retried by the SDK', async () => {
    const { owner, provider } = accounts();
    const arn = await customerKey(client(owner), owner);
    const r = await error(client(provider, { maxAttempts: 3 }).send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' })));
    expect(r).toMatchObject({ name: 'AccessDeniedException', attempts: 1 });
  });

  it('the latency toxic delays calls, and a toxic scoped to one key leaves other keys alone', async () => {
    const { owner, provider } = accounts();
    const admin = client(owner);
    const slow = await customerKey(admin, owner, provider);
    const fast = await customerKey(admin, owner, provider);
    gateway.control.toxics.add({ name: `latency-${provider}`, type: 'latency', latencyMs: 250, jitterMs: 20, keyArn: slow });
    gateway.control.toxics.add({ name: `throttle-${provider}`, type: 'throttle', keyArn: slow, operations: ['Encrypt'] });
    const svc = client(provider);
    const t0 = performance.now();
    await svc.send(new GenerateDataKeyCommand({ KeyId: slow, KeySpec: 'AES_256' }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(225);
    await expect(svc.send(new EncryptCommand({ KeyId: fast, Plaintext: Buffer.from('x') }))).resolves.toBeDefined();
    expect(gateway.control.toxics.reset({ keyArn: slow })).toBe(2);
  });
});

describe('audit and control API', () => {
  it('[EKM-11] every call leaves one CloudTrail-shaped event, in memory and in the file, without plaintext', async () => {
    const { owner, provider, role } = accounts();
    const arn = await customerKey(client(owner), owner, provider);
    const { Plaintext } = await client(provider).send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }));
    const [event] = gateway.control.audit.query({ callerAccount: provider, eventName: 'GenerateDataKey' });
    expect(event).toMatchObject({
      eventSource: 'kms.amazonaws.com',
      eventName: 'GenerateDataKey',
      userIdentity: { accountId: provider, arn: role },
      requestParameters: { keyId: arn, encryptionContext: context, keySpec: 'AES_256' },
      resources: [{ accountId: owner, type: 'AWS::KMS::Key', ARN: arn }],
    });
    expect(event?.errorCode).toBeUndefined();
    expect(gateway.control.audit.query({ account: owner }).map((e) => e.eventName)).toEqual(['CreateKey', 'GenerateDataKey']);
    const file = readFileSync(join(auditDir, 'audit.jsonl'), 'utf8');
    expect(file).toContain(event!.eventID);
    expect(file).not.toContain(Buffer.from(Plaintext!).toString('base64'));
  });

  it('the HTTP control API advances the clock, adds toxics and answers audit queries', async () => {
    const { owner, provider } = accounts();
    const arn = await customerKey(client(owner), owner, provider);
    const before = gateway.control.clock.now().getTime();
    const advanced = (await (await fetch(`${gateway.endpoint}/_ekm/clock/advance`, { method: 'POST', body: JSON.stringify({ hours: 1 }) })).json()) as { now: string };
    expect(new Date(advanced.now).getTime()).toBe(before + 3_600_000);
    const added = await fetch(`${gateway.endpoint}/_ekm/toxics`, {
      method: 'POST',
      body: JSON.stringify({ name: `http-${provider}`, type: 'throttle', account: provider }),
    });
    expect(added.status).toBe(201);
    expect((await error(client(provider).send(new DescribeKeyCommand({ KeyId: arn })))).name).toBe('ThrottlingException');
    expect((await fetch(`${gateway.endpoint}/_ekm/toxics/http-${provider}`, { method: 'DELETE' })).status).toBe(204);
    const events = (await (await fetch(`${gateway.endpoint}/_ekm/audit?callerAccount=${provider}`)).json()) as { errorCode?: string }[];
    expect(events.map((e) => e.errorCode)).toEqual(['ThrottlingException']);
    const stats = (await (await fetch(`${gateway.endpoint}/_ekm/stats`)).json()) as { requests: number };
    expect(stats.requests).toBeGreaterThan(0);
  });
});
