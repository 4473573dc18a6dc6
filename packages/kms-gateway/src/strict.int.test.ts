/**
 * Behaviours the gateway adds because AWS has them and LocalStack 4.10 does not. Each test
 * names the AWS documentation page it follows, and runs against real LocalStack through the
 * gateway with @aws-sdk/client-kms.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ListKeyRotationsCommand,
  RetireGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import type {} from '@ekm/localstack/vitest-setup';
import { claimingPrincipal, failure, kmsClient, newAccount, ownerPolicy, REGION, wrapMaterial } from '../test/support.ts';
import { DAY_MS, startKmsGateway, type KmsGateway } from './index.ts';

let gateway: KmsGateway;
let auditDir: string;
const client = (account: string) => kmsClient(gateway.endpoint, account);

beforeAll(async () => {
  auditDir = mkdtempSync(join(tmpdir(), 'kms-gateway-strict-'));
  gateway = await startKmsGateway({ localstackEndpoint: inject('localstackEndpoint'), seed: 3, auditFile: join(auditDir, 'audit.jsonl') });
});

afterAll(async () => {
  await gateway?.close();
  rmSync(auditDir, { recursive: true, force: true });
});

async function key(admin: KMSClient, owner: string, extra: object[] = [], origin?: 'EXTERNAL'): Promise<string> {
  const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Policy: ownerPolicy(owner, extra), ...(origin ? { Origin: origin } : {}) }));
  return KeyMetadata!.Arn!;
}

describe('identity comes from the signing credentials', () => {
  // https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html
  it('a principal header naming another account (the key owner root) is refused with UnrecognizedClientException and changes nothing', async () => {
    const owner = newAccount();
    const intruder = newAccount();
    const arn = await key(client(owner), owner);
    const posing = claimingPrincipal(client(intruder), `arn:aws:iam::${owner}:root`);
    expect(await failure(posing.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 })))).toMatchObject({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      status: 400,
      fault: 'client',
    });
    expect((await client(owner).send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe('Enabled');
    // Without the header the intruder is itself, and another account's key admin calls stay refused.
    expect((await failure(client(intruder).send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 })))).name).toBe('AccessDeniedException');
  });

  // https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html
  it('principals.set refuses a principal of another account, in process and over HTTP; one of the same account is honoured', async () => {
    const owner = newAccount();
    const provider = newAccount();
    expect(() => gateway.control.principals.set(provider, `arn:aws:iam::${owner}:root`)).toThrow(
      `principals.set: 'arn:aws:iam::${owner}:root' belongs to account ${owner}, not to access key ${provider}'s account ${provider}`,
    );
    const put = await fetch(`${gateway.endpoint}/_ekm/principals/${provider}`, { method: 'PUT', body: JSON.stringify({ principalArn: `arn:aws:iam::${owner}:role/admin` }) });
    expect(put.status).toBe(400);
    expect(gateway.control.principals.list()[provider]).toBeUndefined();

    const role = `arn:aws:iam::${provider}:role/backup-service`;
    gateway.control.principals.set(provider, role);
    const arn = await key(client(owner), owner, [{ Effect: 'Allow', Principal: { AWS: role }, Action: 'kms:Encrypt', Resource: '*' }]);
    await client(provider).send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    const [event] = gateway.control.audit.query({ callerAccount: provider, eventName: 'Encrypt' });
    expect(event?.userIdentity).toMatchObject({ accountId: provider, arn: role, type: 'AssumedRole' });
    // The header may name another role of the same account; the policy names only backup-service.
    const other = claimingPrincipal(client(provider), `arn:aws:iam::${provider}:role/other`);
    expect((await failure(other.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })))).name).toBe('AccessDeniedException');
  });

  // https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html (MissingAuthenticationToken)
  it('an unsigned request is refused before any key is looked at', async () => {
    const res = await fetch(gateway.endpoint, { method: 'POST', headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  });
});

describe('imported key material', () => {
  async function params(admin: KMSClient, arn: string) {
    return admin.send(new GetParametersForImportCommand({ KeyId: arn, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  }
  async function importInto(admin: KMSClient, arn: string, material: Uint8Array, token?: { ImportToken?: Uint8Array; PublicKey?: Uint8Array }) {
    const p = token ?? (await params(admin, arn));
    return admin.send(
      new ImportKeyMaterialCommand({ KeyId: arn, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapMaterial(p.PublicKey!, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
    );
  }

  // https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html
  it('after DeleteImportedKeyMaterial only the same material can be imported again (IncorrectKeyMaterialException)', async () => {
    const owner = newAccount();
    const admin = client(owner);
    const arn = await key(admin, owner, [], 'EXTERNAL');
    const material = randomBytes(32);
    const other = randomBytes(32);
    await importInto(admin, arn, material);
    const { CiphertextBlob } = await admin.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('kept') }));
    await admin.send(new DeleteImportedKeyMaterialCommand({ KeyId: arn }));
    expect(await failure(importInto(admin, arn, other))).toMatchObject({ name: 'IncorrectKeyMaterialException', status: 400 });
    expect((await admin.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe('PendingImport');
    // Different material is refused while material is in place too.
    await importInto(admin, arn, material);
    expect((await failure(importInto(admin, arn, other))).name).toBe('IncorrectKeyMaterialException');
    expect(Buffer.from((await admin.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString()).toBe('kept');
    // The material never reaches the audit trail.
    const file = readFileSync(join(auditDir, 'audit.jsonl'), 'utf8');
    for (const m of [material, other]) {
      expect(file).not.toContain(m.toString('base64'));
      expect(file).not.toContain(m.toString('hex'));
    }
  });

  // https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html (InvalidImportTokenException)
  it('an import token from GetParametersForImport for key A is refused on key B', async () => {
    const owner = newAccount();
    const admin = client(owner);
    const a = await key(admin, owner, [], 'EXTERNAL');
    const b = await key(admin, owner, [], 'EXTERNAL');
    const forA = await params(admin, a);
    expect(await failure(importInto(admin, b, randomBytes(32), forA))).toMatchObject({ name: 'InvalidImportTokenException', status: 400 });
    await expect(importInto(admin, a, randomBytes(32), forA)).resolves.toBeDefined();
  });

  // https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html ("valid for 24 hours")
  it('an import token expires 24 hours after it was issued, on the gateway clock (ExpiredImportTokenException)', async () => {
    const owner = newAccount();
    const admin = client(owner);
    const arn = await key(admin, owner, [], 'EXTERNAL');
    const issued = gateway.control.clock.now(owner).getTime();
    const p = await params(admin, arn);
    expect(p.ParametersValidTo?.getTime()).toBe(issued + DAY_MS);
    await gateway.control.clock.advance({ days: 1 }, owner);
    expect(await failure(importInto(admin, arn, randomBytes(32), p))).toMatchObject({ name: 'ExpiredImportTokenException', status: 400 });
    await expect(importInto(admin, arn, randomBytes(32))).resolves.toBeDefined();
  });
});

describe('key rotation', () => {
  // https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys-on-demand.html ("a maximum of 25 times per KMS key")
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyRotations.html
  it('25 on-demand rotations succeed, the 26th gets LimitExceededException, and ListKeyRotations pages through all 25', async () => {
    const owner = newAccount();
    const admin = client(owner);
    const arn = await key(admin, owner);
    const keyId = arn.split('/').pop()!;
    const blobs: Uint8Array[] = [];
    for (let i = 1; i <= 25; i++) {
      await expect(admin.send(new RotateKeyOnDemandCommand({ KeyId: arn }))).resolves.toMatchObject({ KeyId: keyId });
      if (i % 5 === 0) blobs.push((await admin.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from(`after ${i}`) }))).CiphertextBlob!);
    }
    expect(await failure(admin.send(new RotateKeyOnDemandCommand({ KeyId: arn })))).toMatchObject({
      name: 'LimitExceededException',
      message: `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${arn}`,
      status: 400,
    });
    for (const [i, CiphertextBlob] of blobs.entries()) {
      expect(Buffer.from((await admin.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString()).toBe(`after ${(i + 1) * 5}`);
    }

    const pages = [];
    let Marker: string | undefined;
    do {
      const page = await admin.send(new ListKeyRotationsCommand({ KeyId: arn, Limit: 10, ...(Marker ? { Marker } : {}) }));
      pages.push(page);
      Marker = page.NextMarker;
    } while (Marker !== undefined);
    expect(pages.map((p) => [p.Rotations?.length, p.Truncated])).toEqual([[10, true], [10, true], [5, false]]);
    const all = pages.flatMap((p) => p.Rotations ?? []);
    expect(new Set(all.map((r) => `${r.KeyId} ${r.RotationType}`))).toEqual(new Set([`${keyId} ON_DEMAND`]));
    expect(all.every((r) => r.RotationDate instanceof Date)).toBe(true);
    expect((await admin.send(new ListKeyRotationsCommand({ KeyId: arn }))).Rotations).toHaveLength(25);
    expect((await failure(admin.send(new ListKeyRotationsCommand({ KeyId: arn, Limit: 1001 })))).name).toBe('ValidationException');
    expect((await failure(admin.send(new ListKeyRotationsCommand({ KeyId: arn, Marker: 'bm90IGEgbWFya2Vy' })))).name).toBe('InvalidMarkerException');
  });

  // https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyRotations.html ("Cross-account use: No")
  it('ListKeyRotations is refused on another account’s key and answers an empty list for a key never rotated', async () => {
    const owner = newAccount();
    const other = newAccount();
    const arn = await key(client(owner), owner, [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${other}:root` }, Action: 'kms:*', Resource: '*' }]);
    expect(await client(owner).send(new ListKeyRotationsCommand({ KeyId: arn }))).toMatchObject({ Rotations: [], Truncated: false });
    expect((await failure(client(other).send(new ListKeyRotationsCommand({ KeyId: arn })))).name).toBe('AccessDeniedException');
  });
});

describe('grants', () => {
  function parties() {
    const owner = newAccount();
    const provider = newAccount();
    const role = `arn:aws:iam::${provider}:role/worker`;
    gateway.control.principals.set(provider, role);
    return { owner, provider, role };
  }

  // https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html
  it('grant constraints apply to operations with an encryption context only, with case-insensitive keys', async () => {
    const { owner, provider, role } = parties();
    const arn = await key(client(owner), owner);
    await client(owner).send(
      new CreateGrantCommand({ KeyId: arn, GranteePrincipal: role, Operations: ['DescribeKey', 'Encrypt'], Constraints: { EncryptionContextSubset: { tenant: 't1' } } }),
    );
    const svc = client(provider);
    await expect(svc.send(new DescribeKeyCommand({ KeyId: arn }))).resolves.toMatchObject({ KeyMetadata: { Arn: arn } });
    await expect(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: { TENANT: 't1' } }))).resolves.toBeDefined();
    expect((await failure(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'T1' } })))).name).toBe('AccessDeniedException');
    expect((await failure(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })))).name).toBe('AccessDeniedException');
  });

  // https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html (Constraints: "equally strict or stricter")
  it('a grant made with a constrained grant’s CreateGrant must be as strict as its parent', async () => {
    const { owner, provider, role } = parties();
    const arn = await key(client(owner), owner);
    await client(owner).send(
      new CreateGrantCommand({ KeyId: arn, GranteePrincipal: role, Operations: ['CreateGrant', 'Encrypt'], Constraints: { EncryptionContextSubset: { tenant: 't1' } } }),
    );
    const svc = client(provider);
    const child = (Constraints?: object) => svc.send(new CreateGrantCommand({ KeyId: arn, GranteePrincipal: role, Operations: ['Encrypt'], ...(Constraints ? { Constraints } : {}) }));
    expect((await failure(child())).name).toBe('AccessDeniedException');
    expect((await failure(child({ EncryptionContextSubset: { purpose: 'x' } }))).name).toBe('AccessDeniedException');
    await expect(child({ EncryptionContextSubset: { tenant: 't1', purpose: 'x' } })).resolves.toMatchObject({ GrantId: expect.any(String) });
    await expect(child({ EncryptionContextEquals: { tenant: 't1' } })).resolves.toMatchObject({ GrantId: expect.any(String) });
  });

  // https://docs.aws.amazon.com/kms/latest/APIReference/API_RetireGrant.html
  // https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html
  it('RetireGrant: the retiring principal, the grantee when the grant allows RetireGrant, and the key account may retire; others may not', async () => {
    const { owner, provider, role } = parties();
    const stranger = newAccount();
    const admin = client(owner);
    const svc = client(provider);
    const arn = await key(admin, owner);
    const grant = (extra: object) => admin.send(new CreateGrantCommand({ KeyId: arn, GranteePrincipal: role, Operations: ['Encrypt'], ...extra }));

    const plain = await grant({});
    expect(await failure(svc.send(new RetireGrantCommand({ GrantToken: plain.GrantToken })))).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect((await failure(client(stranger).send(new RetireGrantCommand({ GrantToken: plain.GrantToken })))).name).toBe('AccessDeniedException');
    await svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })); // still in force
    await admin.send(new RetireGrantCommand({ KeyId: arn, GrantId: plain.GrantId })); // the key's account
    expect((await failure(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })))).name).toBe('AccessDeniedException');

    const retirable = await admin.send(new CreateGrantCommand({ KeyId: arn, GranteePrincipal: role, Operations: ['Encrypt', 'RetireGrant'] }));
    await svc.send(new RetireGrantCommand({ KeyId: arn, GrantId: retirable.GrantId })); // the grantee, cross-account by id
    const byRetiring = await grant({ RetiringPrincipal: `arn:aws:iam::${stranger}:root` });
    await client(stranger).send(new RetireGrantCommand({ GrantToken: byRetiring.GrantToken }));
    expect((await failure(svc.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })))).name).toBe('AccessDeniedException');
  });
});

describe('encryption context binding', () => {
  // https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html ("exact, case-sensitive match")
  it('Decrypt needs the exact, case-sensitive encryption context of the Encrypt, in any order', async () => {
    const owner = newAccount();
    const admin = client(owner);
    const arn = await key(admin, owner);
    const { CiphertextBlob } = await admin.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: { Tenant: 'a', purpose: 'p' } }));
    await expect(admin.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { purpose: 'p', Tenant: 'a' } }))).resolves.toMatchObject({ KeyId: arn });
    const wrong: (Record<string, string> | undefined)[] = [{ tenant: 'a', purpose: 'p' }, { Tenant: 'A', purpose: 'p' }, { Tenant: 'a' }, undefined];
    for (const EncryptionContext of wrong) {
      expect((await failure(admin.send(new DecryptCommand({ CiphertextBlob, ...(EncryptionContext ? { EncryptionContext } : {}) })))).name).toBe('InvalidCiphertextException');
    }
  });
});

describe('AWS texts', () => {
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html (NotFoundException)
  it('an unknown alias gets NotFoundException naming the alias ARN', async () => {
    const owner = newAccount();
    for (const KeyId of ['alias/no-such-alias', `arn:aws:kms:${REGION}:${owner}:alias/no-such-alias`]) {
      expect(await failure(client(owner).send(new DescribeKeyCommand({ KeyId })))).toMatchObject({
        name: 'NotFoundException',
        message: `Alias arn:aws:kms:${REGION}:${owner}:alias/no-such-alias is not found.`,
      });
    }
  });

  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts
  it('a bare account principal reads back from GetKeyPolicy as the account root ARN', async () => {
    const owner = newAccount();
    const provider = newAccount();
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Owner', Effect: 'Allow', Principal: { AWS: owner }, Action: 'kms:*', Resource: '*' },
        { Sid: 'Provider', Effect: 'Allow', Principal: { AWS: [provider, `arn:aws:iam::${provider}:role/x`] }, Action: 'kms:Encrypt', Resource: '*' },
      ],
    };
    const { KeyMetadata } = await client(owner).send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }));
    const stored = JSON.parse((await client(owner).send(new GetKeyPolicyCommand({ KeyId: KeyMetadata!.Arn, PolicyName: 'default' }))).Policy!) as typeof policy;
    expect(stored.Statement.map((s) => s.Principal.AWS)).toEqual([`arn:aws:iam::${owner}:root`, [`arn:aws:iam::${provider}:root`, `arn:aws:iam::${provider}:role/x`]]);
    await expect(client(provider).send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: Buffer.from('x') }))).resolves.toBeDefined();
  });
});

describe('audit trail per account', () => {
  // https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html (recipientAccountId, sharedEventID)
  it('a cross-account call is delivered to the caller’s and the key owner’s trail, sharing one sharedEventID', async () => {
    const owner = newAccount();
    const provider = newAccount();
    const arn = await key(client(owner), owner, [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${provider}:root` }, Action: 'kms:Encrypt', Resource: '*' }]);
    await client(provider).send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    const [mine] = gateway.control.audit.query({ recipientAccount: provider, eventName: 'Encrypt' });
    const [theirs] = gateway.control.audit.query({ recipientAccount: owner, eventName: 'Encrypt' });
    expect(mine).toMatchObject({ recipientAccountId: provider, userIdentity: { accountId: provider }, sharedEventID: expect.any(String) });
    expect(theirs).toMatchObject({ recipientAccountId: owner, userIdentity: { accountId: provider }, sharedEventID: mine!.sharedEventID });
    expect(theirs!.eventID).not.toBe(mine!.eventID);
    // A call within one account is one event, without a sharedEventID.
    const [own] = gateway.control.audit.query({ recipientAccount: owner, eventName: 'CreateKey' });
    expect(own).toMatchObject({ recipientAccountId: owner });
    expect(own!.sharedEventID).toBeUndefined();
    const overHttp = (await (await fetch(`${gateway.endpoint}/_ekm/audit?recipientAccount=${owner}&eventName=Encrypt`)).json()) as { recipientAccountId: string }[];
    expect(overHttp.map((e) => e.recipientAccountId)).toEqual([owner]);
  });
});
