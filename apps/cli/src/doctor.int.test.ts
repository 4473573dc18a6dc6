import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CreateKeyCommand, DisableKeyCommand, KMSClient, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { startKmsGateway } from '@ekm/kms-gateway';
import type { KmsGateway } from '@ekm/kms-gateway';
import type {} from '@ekm/localstack/vitest-setup';
import { cli } from './cli.ts';
import type { Io } from './cli.ts';
import type { DoctorReport, OperationCheck } from './doctor.ts';

const REGION = 'us-east-1';
let gateway: KmsGateway;

beforeAll(async () => {
  gateway = await startKmsGateway({ localstackEndpoint: inject('localstackEndpoint') });
});
afterAll(async () => {
  await gateway?.close();
});

let nextAccount = 100_000_000_000 + Math.floor(Math.random() * 800_000_000_000);
/** Each test: the customer's account, which owns the key, and the provider's, which uses it. */
function accounts() {
  return { owner: String(nextAccount++), provider: String(nextAccount++) };
}

function admin(account: string): KMSClient {
  return new KMSClient({ endpoint: gateway.endpoint, region: REGION, credentials: { accessKeyId: account, secretAccessKey: 'test' }, maxAttempts: 1 });
}

const PROVIDER_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];

function policy(owner: string, provider?: string, actions = PROVIDER_ACTIONS, condition?: object): string {
  const statements: object[] = [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' },
  ];
  if (provider !== undefined) {
    statements.push({
      Sid: 'Allow use of the key by the backup provider',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${provider}:root` },
      Action: actions,
      Resource: '*',
      ...(condition === undefined ? {} : { Condition: condition }),
    });
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

async function createKey(owner: string, keyPolicy: string, spec: 'SYMMETRIC_DEFAULT' | 'RSA_2048' = 'SYMMETRIC_DEFAULT'): Promise<string> {
  const { KeyMetadata } = await admin(owner).send(new CreateKeyCommand({ Policy: keyPolicy, KeySpec: spec, KeyUsage: 'ENCRYPT_DECRYPT' }));
  return KeyMetadata!.Arn!;
}

async function doctor(...args: string[]): Promise<{ code: number; report: DoctorReport; text: string }> {
  const run = async (extra: string[]) => {
    let out = '';
    let err = '';
    const io: Io = { stdout: { write: (t: string) => (out += t), isTTY: false }, stderr: { write: (t: string) => (err += t) }, cwd: process.cwd() };
    const code = await cli(['doctor', '--endpoint', gateway.endpoint, ...args, ...extra], io);
    expect(err).toBe('');
    return { code, out };
  };
  const json = await run(['--json']);
  const text = await run([]);
  expect(text.code).toBe(json.code);
  return { code: json.code, report: JSON.parse(json.out) as DoctorReport, text: text.out };
}

const op = (report: DoctorReport, name: OperationCheck['operation']) => report.operations.find((o) => o.operation === name)!;

describe('ekm doctor against the gateway', () => {
  it('[EKM-02][EKM-06][EKM-20] a key whose policy allows the provider passes every check, with the tenant-key encryption context', async () => {
    const { owner, provider } = accounts();
    const arn = await createKey(owner, policy(owner, provider));
    const { code, report, text } = await doctor('--key-arn', arn, '--account', provider, '--tenant', 'contoso');

    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, checked: 'key', account: provider, region: REGION, findings: [] });
    expect(report.key).toMatchObject({ state: 'Enabled', keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT' });
    expect(report.operations.map((o) => [o.operation, o.status])).toEqual([
      ['DescribeKey', 'allowed'],
      ['GenerateDataKey', 'allowed'],
      ['Decrypt', 'allowed'],
      ['Encrypt', 'allowed'],
      ['ReEncrypt', 'allowed'],
    ]);
    expect(text).toContain('result: every check passed');
    expect(text).not.toMatch(/[A-Za-z0-9+/]{40,}={0,2}/); // no data key, plaintext or ciphertext in base64

    // The provider's operations carried exactly the context the provider will use.
    const calls = gateway.control.audit.query({ callerAccount: provider, keyArn: arn, eventName: ['GenerateDataKey', 'Encrypt', 'Decrypt'] });
    const tenantKeyCalls = calls.filter((e) => (e.requestParameters?.['encryptionContext'] as { purpose?: string } | undefined)?.purpose === 'tenant-key');
    expect(tenantKeyCalls.map((e) => e.requestParameters?.['encryptionContext'])).toEqual(
      Array(tenantKeyCalls.length).fill({ tenant: 'contoso', purpose: 'tenant-key' }),
    );
    // Twice: once with --json, once as text.
    expect(tenantKeyCalls.map((e) => e.eventName).sort()).toEqual(['Decrypt', 'Decrypt', 'Encrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKey']);
  });

  it('[EKM-02][EKM-06] a key policy without the provider: AccessDenied for every operation, each with the statement to add', async () => {
    const { owner, provider } = accounts();
    const arn = await createKey(owner, policy(owner));
    const { code, report, text } = await doctor('--key-arn', arn, '--account', provider);

    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.findings.map((f) => f.code)).toContain('KeyAccessDenied');
    for (const name of ['DescribeKey', 'GenerateDataKey', 'Encrypt'] as const) {
      expect(op(report, name)).toMatchObject({
        status: 'refused',
        awsError: 'AccessDeniedException',
        code: 'KeyAccessDenied',
        fix: expect.stringMatching(new RegExp(`^Add kms:${name} for account ${provider} to the key policy \\(Principal arn:aws:iam::${provider}:root\\)`)),
      });
    }
    // Without a ciphertext of the key, Decrypt and ReEncrypt cannot be tried: said, not passed.
    expect(op(report, 'Decrypt')).toMatchObject({ status: 'not-tried', fix: expect.stringContaining('Allow kms:GenerateDataKey or kms:Encrypt first') });
    expect(op(report, 'ReEncrypt').status).toBe('not-tried');
    expect(text).toContain(`FAIL kms:GenerateDataKey`);
    expect(text).toContain(`refused: AccessDeniedException (KeyAccessDenied). Add kms:GenerateDataKey for account ${provider} to the key policy`);

    // One refusal naming every withheld action, as the console would show it.
    expect(report.refusal?.message).toContain(`do not allow account ${provider} to use kms:DescribeKey, kms:GenerateDataKey.`);
    // The statements to paste: the AWS console's "other AWS accounts" defaults with the provider's account.
    const principal = { AWS: `arn:aws:iam::${provider}:root` };
    expect(report.policyStatements).toEqual([
      {
        Sid: 'Allow use of the key',
        Effect: 'Allow',
        Principal: principal,
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        Resource: '*',
      },
      {
        Sid: 'Allow attachment of persistent resources',
        Effect: 'Allow',
        Principal: principal,
        Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    ]);
    expect(text).toContain(`add these statements to the key policy's "Statement" list, so account ${provider} can use the key:`);
    // What is printed is valid JSON: pasted into the policy, the check passes.
    const printed = text.slice(text.indexOf('can use the key:\n') + 'can use the key:\n'.length, text.indexOf('\nresult:'));
    const statements = JSON.parse(`[${printed}]`) as object[];
    const fixed = JSON.parse(policy(owner)) as { Statement: object[] };
    await admin(owner).send(
      new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: JSON.stringify({ ...fixed, Statement: [...fixed.Statement, ...statements] }) }),
    );
    const after = await doctor('--key-arn', arn, '--account', provider);
    expect(after.code).toBe(0);
    expect(after.report.policyStatements).toBeUndefined();
  });

  it('[EKM-02][EKM-06] a policy that allows all but kms:Decrypt: only Decrypt is refused, with "add kms:Decrypt for account …"', async () => {
    const { owner, provider } = accounts();
    const arn = await createKey(
      owner,
      policy(
        owner,
        provider,
        PROVIDER_ACTIONS.filter((a) => a !== 'kms:Decrypt'),
      ),
    );
    const { code, report } = await doctor('--key-arn', arn, '--account', provider);

    expect(code).toBe(1);
    expect(report.operations.filter((o) => o.status !== 'allowed').map((o) => o.operation)).toEqual(['Decrypt']);
    expect(op(report, 'Decrypt')).toMatchObject({
      awsError: 'AccessDeniedException',
      fix: expect.stringContaining(`Add kms:Decrypt for account ${provider} to the key policy`),
    });
    // validateKey's own round trip (GenerateDataKey + Decrypt) finds it too.
    expect(report.findings.map((f) => f.code)).toEqual(['KeyAccessDenied']);
  });

  it('[EKM-20] a tenant condition on every action: another tenant is refused with the context named; DescribeKey, which has no context, says why', async () => {
    const { owner, provider } = accounts();
    const arn = await createKey(owner, policy(owner, provider, PROVIDER_ACTIONS, { StringEquals: { 'kms:EncryptionContext:tenant': 'contoso' } }));
    const other = await doctor('--key-arn', arn, '--account', provider, '--tenant', 'fabrikam');
    expect(other.code).toBe(1);
    expect(other.report.operations.map((o) => o.status)).toEqual([
      'refused', // DescribeKey carries no encryption context, so the condition cannot hold
      'refused',
      'not-tried',
      'refused',
      'not-tried',
    ]);
    const tenant = await doctor('--key-arn', arn, '--account', provider, '--tenant', 'contoso');
    expect(tenant.report.operations.map((o) => o.status)).toEqual(['refused', 'allowed', 'allowed', 'allowed', 'allowed']);
    expect(op(other.report, 'DescribeKey').fix).toContain('must not have kms:EncryptionContext conditions, as DescribeKey carries no encryption context');
    expect(op(other.report, 'GenerateDataKey').fix).toContain('make its conditions accept the encryption context {"tenant":"fabrikam","purpose":"tenant-key"}');
    // validateKey uses its own (non-tenant) context, which this policy refuses: the customer sees that too,
    // for DescribeKey and GenerateDataKey alike (every withheld action is its own finding).
    expect(other.report.findings.map((f) => f.code)).toEqual(['KeyAccessDenied', 'KeyAccessDenied']);
  });

  it('[EKM-06][EKM-12] a disabled key: KeyDisabled, and every cryptographic operation refused with DisabledException', async () => {
    const { owner, provider } = accounts();
    const arn = await createKey(owner, policy(owner, provider));
    await admin(owner).send(new DisableKeyCommand({ KeyId: arn }));
    const { code, report, text } = await doctor('--key-arn', arn, '--account', provider);

    expect(code).toBe(1);
    expect(report.findings.map((f) => f.code)).toContain('KeyDisabled');
    expect(report.key?.state).toBe('Disabled');
    expect(op(report, 'DescribeKey').status).toBe('allowed');
    for (const name of ['GenerateDataKey', 'Encrypt'] as const) {
      expect(op(report, name)).toMatchObject({ status: 'refused', awsError: 'DisabledException', code: 'KeyDisabled', fix: 'Enable the key in AWS KMS.' });
    }
    expect(text).toContain('FAIL KeyDisabled: The key is disabled; enable it in AWS KMS');
  });

  it('[EKM-05][EKM-06] an RSA key: UnsupportedKeySpec, and the data-key operations refused with the fix "use a symmetric key"', async () => {
    const { owner, provider } = accounts();
    const arn = await createKey(owner, policy(owner, provider), 'RSA_2048');
    const { code, report, text } = await doctor('--key-arn', arn, '--account', provider);

    expect(code).toBe(1);
    expect(report.key).toMatchObject({ keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' });
    expect(report.findings.map((f) => f.code)).toEqual(['UnsupportedKeySpec']);
    expect(op(report, 'GenerateDataKey')).toMatchObject({
      status: 'refused',
      fix: 'Use a symmetric encryption key (key spec SYMMETRIC_DEFAULT, key usage ENCRYPT_DECRYPT).',
    });
    expect(text).toContain('FAIL UnsupportedKeySpec: The key spec is RSA_2048; create a symmetric key (SYMMETRIC_DEFAULT).');
  });

  it('[EKM-06] a key ARN that does not exist: KeyNotFound, with the account and Region to check', async () => {
    const { owner, provider } = accounts();
    const arn = `arn:aws:kms:${REGION}:${owner}:key/00000000-0000-4000-8000-000000000000`;
    const { code, report } = await doctor('--key-arn', arn, '--account', provider);
    expect(code).toBe(1);
    expect(report.findings.map((f) => f.code)).toEqual(['KeyNotFound']);
    expect(op(report, 'DescribeKey').fix).toBe(`Check the key ARN: AWS KMS has no such key in account ${owner}, Region ${REGION}.`);
  });
});
