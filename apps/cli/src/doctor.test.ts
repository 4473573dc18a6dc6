import { describe, expect, it } from 'vitest';
import { cli } from './cli.ts';
import type { Io } from './cli.ts';
import type { DoctorReport } from './doctor.ts';

const GOOD = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

async function doctor(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: { write: (t: string) => (out += t), isTTY: false }, stderr: { write: (t: string) => (err += t) }, cwd: process.cwd() };
  const code = await cli(['doctor', ...args], io);
  return { code, out, err };
}

describe('ekm doctor without an endpoint checks the identifier alone', () => {
  it('[EKM-03] a key ARN passes and says that only the identifier was checked', async () => {
    const r = await doctor('--key-arn', GOOD);
    expect(r.code).toBe(0);
    expect(r.out).toContain('ok   identifier: partition aws, Region us-east-1, account 111122223333, key 1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(r.out).toContain('only the identifier was checked');
    expect(r.err).toBe('');
  });

  const refused: [string, string, string, RegExp][] = [
    ['an alias ARN', 'arn:aws:kms:us-east-1:111122223333:alias/backup', 'AliasNotAccepted', /field "resource": This is an alias ARN/],
    ['a bare key ID', '1234abcd-12ab-34cd-56ef-1234567890ab', 'InvalidKeyArn', /field "arn": "1234abcd-.*" is a key ID, not a key ARN/],
    ['an Azure Key Vault key', 'https://contoso.vault.azure.net/keys/backup/0123', 'UnsupportedKeyLocation', /This is an Azure Key Vault key/],
    ['a Google Cloud KMS key', 'projects/p/locations/global/keyRings/r/cryptoKeys/k', 'UnsupportedKeyLocation', /This is a Google Cloud KMS key/],
    ['an ARN of another service', 'arn:aws:s3:::backup-bucket', 'InvalidKeyArn', /field "service": This is an ARN of the s3 service/],
    [
      'an 11-digit account',
      'arn:aws:kms:us-east-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'InvalidKeyArn',
      /field "account": The account "11112222333" is not a 12-digit/,
    ],
    [
      'a Region of another partition',
      'arn:aws:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'InvalidKeyArn',
      /field "region": "cn-north-1" is not a Region of the aws partition/,
    ],
  ];
  for (const [what, arn, code, sentence] of refused) {
    it(`[EKM-03] ${what} is refused with ${code}, naming the field`, async () => {
      const r = await doctor('--key-arn', arn);
      expect(r.code).toBe(1);
      const line = r.out.split('\n').find((l) => l.startsWith('FAIL identifier:'));
      expect(line).toContain(`FAIL identifier: ${code}`);
      expect(line).toMatch(sentence);
      expect(r.out).toMatch(/result: 1 problem\(s\)/);
    });
  }

  it('[EKM-06] --region: a key in another Region than the provider stores data in is a KeyRegionMismatch', async () => {
    const r = await doctor('--key-arn', GOOD, '--region', 'eu-west-1');
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL KeyRegionMismatch: The key is in us-east-1; use a key in eu-west-1');
  });

  it('--json prints the stable shape, with the failure code and field', async () => {
    const bad = await doctor('--key-arn', 'alias/backup', '--json');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.out) as DoctorReport;
    expect(report).toEqual({
      version: 1,
      ok: false,
      keyArn: 'alias/backup',
      checked: 'identifier',
      identifier: { ok: false, code: 'AliasNotAccepted', field: 'arn', message: expect.stringContaining('is an alias') },
      findings: [{ code: 'AliasNotAccepted', kind: 'input', field: 'arn', message: expect.stringContaining('is an alias') }],
      operations: [],
    });
    const good = JSON.parse((await doctor('--key-arn', ` ${GOOD} `, '--json')).out) as DoctorReport;
    expect(good).toEqual({
      version: 1,
      ok: true,
      keyArn: GOOD,
      checked: 'identifier',
      region: 'us-east-1',
      identifier: {
        ok: true,
        partition: 'aws',
        region: 'us-east-1',
        account: '111122223333',
        keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
        multiRegion: false,
      },
      findings: [],
      operations: [],
    });
  });
});

describe('ekm doctor against an endpoint that does not answer', () => {
  it('[EKM-06] regression: one root cause, not a failure of every check', async () => {
    const r = await doctor('--key-arn', GOOD, '--endpoint', 'http://127.0.0.1:9', '--account', '444455556666');
    expect(r.code).toBe(1);
    const fails = r.out.split('\n').filter((l) => l.includes('FAIL'));
    expect(fails).toEqual([
      expect.stringMatching(/^FAIL endpoint: http:\/\/127\.0\.0\.1:9\/? does not answer \(ECONNREFUSED\); no check could run\. Check the URL/),
    ]);
    expect(r.out).toContain('result: 1 problem(s)');
    const json = JSON.parse((await doctor('--key-arn', GOOD, '--endpoint', 'http://127.0.0.1:9', '--account', '444455556666', '--json')).out) as DoctorReport;
    expect(json.unreachable).toMatchObject({ code: 'KmsUnavailable', kind: 'transient', field: 'endpoint' });
    expect(json.findings).toHaveLength(1);
    expect(json.operations.every((o) => o.status === 'not-tried')).toBe(true);
  }, 30_000);
});
