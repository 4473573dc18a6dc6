import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseKeyArn } from './arn.ts';

const UUID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';

function refusal(input: string) {
  const r = parseKeyArn(input);
  if (r.ok) throw new Error(`accepted ${input}`);
  return r.failure;
}

describe('parseKeyArn accepts key ARNs', () => {
  it.each([
    ['aws', 'us-east-1'],
    ['aws', 'eu-central-1'],
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws-cn', 'cn-north-1'],
  ])('[EKM-03] a key ARN in partition %s, Region %s', (partition, region) => {
    const r = parseKeyArn(`arn:${partition}:kms:${region}:111122223333:key/${UUID}`);
    expect(r).toEqual({
      ok: true,
      arn: { arn: `arn:${partition}:kms:${region}:111122223333:key/${UUID}`, partition, region, account: '111122223333', keyId: UUID, multiRegion: false },
    });
  });

  it('[EKM-04] a multi-Region key ARN (mrk-) and marks it multi-Region', () => {
    const r = parseKeyArn(`arn:aws:kms:us-west-2:111122223333:key/${MRK}`);
    expect(r.ok && r.arn.multiRegion).toBe(true);
    expect(r.ok && r.arn.keyId).toBe(MRK);
  });

  it('[EKM-03] trims surrounding whitespace and newlines', () => {
    const r = parseKeyArn(`  \n arn:aws:kms:us-east-1:111122223333:key/${UUID}\t\n`);
    expect(r.ok && r.arn.arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${UUID}`);
  });
});

describe('parseKeyArn refuses every other identifier with a reason', () => {
  it('[EKM-03] empty input', () => {
    for (const input of ['', '   ', '\n\t']) {
      const f = refusal(input);
      expect(f.code).toBe('InvalidKeyArn');
      expect(f.message).toMatch(/^The key ARN is empty\. Use the key ARN/);
    }
  });

  it('[EKM-03] several keys at once', () => {
    const f = refusal(`arn:aws:kms:us-east-1:111122223333:key/${UUID}, arn:aws:kms:us-east-1:111122223333:key/${UUID}`);
    expect(f.code).toBe('InvalidKeyArn');
    expect(f.message).toBe('Enter exactly one key ARN; 2 values were given.');
  });

  it('[EKM-03] an alias ARN: use the key ARN', () => {
    const f = refusal('arn:aws:kms:us-east-1:111122223333:alias/backup-key');
    expect(f).toMatchObject({ code: 'AliasNotAccepted', kind: 'input', field: 'resource' });
    expect(f.message).toMatch(/^This is an alias ARN; .*Use the key ARN, for example arn:aws:kms:/);
  });

  it('[EKM-03] a bare alias: use the key ARN', () => {
    const f = refusal('alias/backup-key');
    expect(f.code).toBe('AliasNotAccepted');
    expect(f.message).toMatch(/^"alias\/backup-key" is an alias, .*Use the key ARN/);
  });

  it.each([UUID, MRK])('[EKM-03] a bare key id %s: use the full key ARN', (id) => {
    const f = refusal(id);
    expect(f.code).toBe('InvalidKeyArn');
    expect(f.message).toContain(`"${id}" is a key ID, not a key ARN`);
  });

  it.each([
    ['arn:aws:s3:::my-backup-bucket', 'the s3 service'],
    ['arn:aws:iam::111122223333:role/backup', 'the iam service'],
    ['arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf', 'the secretsmanager service'],
  ])("[EKM-03] another service's ARN %s", (input, service) => {
    const f = refusal(input);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'service' });
    expect(f.message).toContain(`This is an ARN of ${service}, not of an AWS KMS key.`);
  });

  it.each([
    'https://contoso-vault.vault.azure.net/keys/backup-key/0123456789abcdef0123456789abcdef',
    'contoso-vault.vault.azure.net/keys/backup-key',
    'https://contoso.vault.azure.cn/keys/k1',
    'https://contoso.vault.usgovcloudapi.net/keys/k1',
  ])('[EKM-03] an Azure Key Vault key %s: only AWS KMS is supported', (input) => {
    const f = refusal(input);
    expect(f.code).toBe('UnsupportedKeyLocation');
    expect(f.message).toMatch(/^This is an Azure Key Vault key \(Microsoft Azure\); only AWS KMS keys are supported\./);
  });

  it('[EKM-03] an Azure Key Vault Managed HSM key: only AWS KMS is supported', () => {
    const f = refusal('https://contoso-hsm.managedhsm.azure.net/keys/backup-key');
    expect(f.code).toBe('UnsupportedKeyLocation');
    expect(f.message).toMatch(/^This is an Azure Key Vault Managed HSM key \(Microsoft Azure\); only AWS KMS keys are supported\./);
  });

  it.each([
    'projects/acme/locations/global/keyRings/backup/cryptoKeys/entra',
    'projects/acme/locations/europe-west1/keyRings/backup/cryptoKeys/entra/cryptoKeyVersions/3',
    '//cloudkms.googleapis.com/projects/acme/locations/global/keyRings/backup/cryptoKeys/entra',
    'gcp-kms://projects/acme/locations/global/keyRings/backup/cryptoKeys/entra',
  ])('[EKM-03] a Google Cloud KMS key %s: only AWS KMS is supported', (input) => {
    const f = refusal(input);
    expect(f.code).toBe('UnsupportedKeyLocation');
    expect(f.message).toMatch(/^This is a Google Cloud KMS key; only AWS KMS keys are supported\./);
  });

  it('[EKM-03] an unknown partition', () => {
    const f = refusal(`arn:aws-eu:kms:eu-west-1:111122223333:key/${UUID}`);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'partition' });
    expect(f.message).toContain('The partition "aws-eu" is not one of aws, aws-us-gov, aws-cn.');
  });

  it.each([
    ['aws', 'useast1'],
    ['aws', 'cn-north-1'],
    ['aws-cn', 'us-east-1'],
    ['aws-us-gov', 'us-east-1'],
  ])('[EKM-03] partition %s with Region "%s" that is malformed or of another partition', (partition, region) => {
    const f = refusal(`arn:${partition}:kms:${region}:111122223333:key/${UUID}`);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'region' });
    expect(f.message).toContain(`"${region}" is not a Region of the ${partition} partition.`);
  });

  it.each(['11112222333', '1111222233334', 'abcdefghijkl'])('[EKM-03] account "%s" that is not 12 digits', (account) => {
    const f = refusal(`arn:aws:kms:us-east-1:${account}:key/${UUID}`);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'account' });
    expect(f.message).toContain(`The account "${account}" is not a 12-digit AWS account ID.`);
  });

  it.each(['key/not-a-uuid', 'key/mrk-123', `grant/${UUID}`, `key/${UUID}/extra`])(
    '[EKM-03] resource "%s" that is not key/<uuid> or key/mrk-<32 hex>',
    (resource) => {
      const f = refusal(`arn:aws:kms:us-east-1:111122223333:${resource}`);
      expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'resource' });
      expect(f.message).toContain(`The resource "${resource}" is not key/<key id>`);
    },
  );

  it('[EKM-03] text that is not an ARN at all', () => {
    const f = refusal('my-backup-key');
    expect(f.code).toBe('InvalidKeyArn');
    expect(f.message).toMatch(/^This is not an ARN\. Use the key ARN/);
  });

  it('[EKM-03] never throws and never accepts anything but a kms key ARN (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (input) => {
        const r = parseKeyArn(input);
        if (r.ok) expect(r.arn.arn).toMatch(/^arn:aws(-us-gov|-cn)?:kms:[a-z0-9-]+:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/);
        else expect(r.failure.message.length).toBeGreaterThan(10);
      }),
    );
  });
});
