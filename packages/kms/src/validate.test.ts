import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  NotFoundException,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { kmsPort } from './adapter.ts';
import { refusalOf, validateKey } from './validate.ts';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PROVIDER = '444455556666';
const client = new KMSClient({ region: 'us-east-1' });
const kms = mockClient(client);
const port = kmsPort(client, PROVIDER);
const regions = ['us-east-1'];
afterEach(() => kms.reset());

const metadata = (over: Partial<KeyMetadata> = {}): KeyMetadata => ({
  KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
  Arn: ARN,
  AWSAccountId: '111122223333',
  KeyState: 'Enabled',
  KeySpec: 'SYMMETRIC_DEFAULT',
  KeyUsage: 'ENCRYPT_DECRYPT',
  Origin: 'AWS_KMS',
  MultiRegion: false,
  ...over,
});

function usableKey(over: Partial<KeyMetadata> = {}) {
  const dataKey = new Uint8Array(32).fill(7);
  kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata(over) });
  kms.on(GenerateDataKeyCommand).resolves({ Plaintext: Uint8Array.from(dataKey), CiphertextBlob: new Uint8Array([9, 9]) });
  kms.on(DecryptCommand).resolves({ Plaintext: Uint8Array.from(dataKey) });
}

const denied = (op: string) =>
  Object.assign(new Error(`User: arn:aws:iam::${PROVIDER}:root is not authorized to perform: kms:${op}`), {
    name: 'AccessDeniedException',
    $metadata: { httpStatusCode: 400 },
  });

describe('validateKey', () => {
  it('[EKM-06] a usable symmetric key: ok, no findings, round trip with the validation context', async () => {
    usableKey();
    const v = await validateKey(port, `  ${ARN}\n`, { regions });
    expect(v).toMatchObject({ ok: true, findings: [] });
    expect(kms.commandCalls(GenerateDataKeyCommand)[0]?.args[0].input.EncryptionContext).toEqual({ purpose: 'key-validation', account: PROVIDER });
    expect(kms.commandCalls(DecryptCommand)[0]?.args[0].input).toMatchObject({
      KeyId: ARN,
      EncryptionContext: { purpose: 'key-validation', account: PROVIDER },
    });
  });

  it.each<[Partial<KeyMetadata>, string]>([
    [{ Origin: 'EXTERNAL' }, 'imported key material'],
    [{ MultiRegion: true }, 'a multi-Region key'],
  ])('[EKM-04] accepts %o (%s)', async (over) => {
    usableKey(over);
    expect((await validateKey(port, ARN, { regions })).ok).toBe(true);
  });

  it('[EKM-03] refuses a malformed identifier without calling KMS', async () => {
    const v = await validateKey(port, 'alias/backup', { regions });
    expect(v).toMatchObject({ ok: false, findings: [{ code: 'AliasNotAccepted' }] });
    expect(kms.calls()).toHaveLength(0);
  });

  it.each([
    [{ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }, ['UnsupportedKeySpec'], /The key spec is RSA_2048; create a symmetric key/],
    [{ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }, ['UnsupportedKeySpec', 'UnsupportedKeyUsage'], /HMAC_256/],
    [{ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }, ['UnsupportedKeySpec', 'UnsupportedKeyUsage'], /ECC_NIST_P256/],
  ] as const)('[EKM-05] refuses %o with %o and makes no round trip', async (over, codes, message) => {
    usableKey(over);
    const v = await validateKey(port, ARN, { regions });
    expect(v.ok).toBe(false);
    expect(v.findings.map((f) => f.code)).toEqual(codes);
    expect(v.findings[0]?.message).toMatch(message);
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
  });

  it.each([
    ['Disabled', 'KeyDisabled', /disabled; enable it/],
    ['PendingDeletion', 'KeyPendingDeletion', /scheduled for deletion; cancel the deletion/],
    ['PendingImport', 'KeyMaterialUnavailable', /no key material; import it/],
  ])('[EKM-06] a key in state %s is refused with %s', async (state, code, message) => {
    usableKey({ KeyState: state as KeyMetadata['KeyState'] });
    const v = await validateKey(port, ARN, { regions });
    expect(v.ok).toBe(false);
    expect(v.findings[0]).toMatchObject({ code });
    expect(v.findings[0]?.message).toMatch(message);
  });

  it('[EKM-06] lists every finding: the policy allows GenerateDataKey but not Decrypt, and the Region is not served', async () => {
    const arn = ARN.replace('us-east-1', 'eu-west-1');
    usableKey({ Arn: arn });
    kms.on(DecryptCommand).rejects(denied('Decrypt'));
    const v = await validateKey(port, arn, { regions });
    expect(v.ok).toBe(false);
    expect(v.findings.map((f) => f.code)).toEqual(['KeyRegionMismatch', 'KeyAccessDenied']);
    expect(v.findings[1]?.message).toBe(`The key policy or grants of the key ${arn} do not allow account ${PROVIDER} to use kms:Decrypt.`);
  });

  it('[EKM-06] DescribeKey denied but the round trip works: one finding naming kms:DescribeKey', async () => {
    usableKey();
    kms.on(DescribeKeyCommand).rejects(denied('DescribeKey'));
    const v = await validateKey(port, ARN, { regions });
    expect(v.findings).toHaveLength(1);
    expect(v.findings[0]?.message).toContain(`do not allow account ${PROVIDER} to use kms:DescribeKey`);
  });

  it('[EKM-06] a key that does not exist: KeyNotFound (input), no round trip', async () => {
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'not found', $metadata: {} }));
    const v = await validateKey(port, ARN, { regions });
    expect(v.findings.map((f) => [f.code, f.kind])).toEqual([['KeyNotFound', 'input']]);
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
  });

  it('[EKM-06] unreachable KMS is reported as transient, not as a key problem', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    kms.on(DescribeKeyCommand).rejects(refused).on(GenerateDataKeyCommand).rejects(refused);
    const v = await validateKey(port, ARN, { regions });
    expect(v.findings.map((f) => [f.code, f.kind])).toEqual([['KmsUnavailable', 'transient']]);
  });

  it('[EKM-06] regression: a policy allowing Encrypt and GenerateDataKey but not DescribeKey or Decrypt names both missing actions in one refusal', async () => {
    usableKey();
    kms.on(DescribeKeyCommand).rejects(denied('DescribeKey'));
    kms.on(DecryptCommand).rejects(denied('Decrypt'));
    const v = await validateKey(port, ARN, { regions });
    expect(v.findings.map((f) => f.code)).toEqual(['KeyAccessDenied', 'KeyAccessDenied']);
    expect(v.findings.map((f) => f.message.match(/kms:[A-Z]\w+/)?.[0])).toEqual(['kms:DescribeKey', 'kms:Decrypt']);
    const r = refusalOf(v.findings)!;
    expect(r).toMatchObject({ code: 'KeyAccessDenied', kind: 'revocation', field: ARN });
    expect(r.message).toBe(
      `The key policy or grants of the key ${ARN} do not allow account ${PROVIDER} to use kms:DescribeKey, kms:Decrypt. (2 problems: KeyAccessDenied.)`,
    );
  });

  it('[EKM-06] GenerateDataKey and Decrypt both denied: Decrypt is still tried, on a probe from Encrypt, and both are named', async () => {
    usableKey();
    kms.on(GenerateDataKeyCommand).rejects(denied('GenerateDataKey'));
    kms.on(EncryptCommand).resolves({ CiphertextBlob: new Uint8Array([5, 5]) });
    kms.on(DecryptCommand).rejects(denied('Decrypt'));
    const v = await validateKey(port, ARN, { regions });
    expect(v.findings.map((f) => f.message.match(/kms:[A-Z]\w+/)?.[0])).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    expect(kms.commandCalls(EncryptCommand)[0]?.args[0].input.EncryptionContext).toEqual({ purpose: 'key-validation', account: PROVIDER });
  });

  it('[EKM-06] every unusable condition is named: a disabled key in another Region whose policy withholds Decrypt', async () => {
    const arn = ARN.replace('us-east-1', 'eu-west-1');
    usableKey({ Arn: arn, KeyState: 'Disabled' });
    kms.on(GenerateDataKeyCommand).rejects(denied('GenerateDataKey'));
    kms.on(EncryptCommand).rejects(denied('Encrypt'));
    const v = await validateKey(port, arn, { regions });
    expect(v.findings.map((f) => f.code)).toEqual(['KeyRegionMismatch', 'KeyDisabled', 'KeyAccessDenied']);
    const r = refusalOf(v.findings, 'KeyDisabled')!;
    expect(r.code).toBe('KeyDisabled');
    expect(r.message).toMatch(
      /^The key policy or grants .* kms:GenerateDataKey\. The key is in eu-west-1; .* The key is disabled; enable it .* \(3 problems: KeyRegionMismatch, KeyDisabled, KeyAccessDenied\.\)$/,
    );
  });
});
