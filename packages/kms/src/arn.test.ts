import { describe, expect, it } from 'vitest';
import { parseKeyArn } from './arn.ts';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe("the provider's own ARN parser (EKM-03)", () => {
  it.each([
    ['an Azure Key Vault key', 'https://contoso.vault.azure.net/keys/k/0123', 'UnsupportedKeyLocation', 'arn', /Azure Key Vault key/],
    ['an Azure Managed HSM key', 'https://contoso.managedhsm.azure.net/keys/k', 'UnsupportedKeyLocation', 'arn', /Managed HSM/],
    ['a Google Cloud KMS key', 'projects/p/locations/global/keyRings/r/cryptoKeys/k', 'UnsupportedKeyLocation', 'arn', /Google/],
    ['a bare alias', 'alias/backup', 'AliasNotAccepted', 'arn', /alias/],
    ['an alias ARN', 'arn:aws:kms:us-east-1:111122223333:alias/backup', 'AliasNotAccepted', 'resource', /alias/],
    ['a bare key id', '1234abcd-12ab-34cd-56ef-1234567890ab', 'InvalidKeyArn', 'arn', /key ID, not a key ARN/],
    ['an ARN of another service', 'arn:aws:s3:::bucket', 'InvalidKeyArn', 'service', /s3/],
    ['not an ARN', 'hello', 'InvalidKeyArn', 'arn', /not an ARN/],
    ['an unknown partition', 'arn:aws-xx:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'InvalidKeyArn', 'partition', /partition/],
    ['a Region of another partition', 'arn:aws:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'InvalidKeyArn', 'region', /cn-north-1/],
    ['an 11-digit account', 'arn:aws:kms:us-east-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'InvalidKeyArn', 'account', /12-digit/],
    ['a cut ARN', 'arn:aws:kms:us-east-1', 'InvalidKeyArn', 'account', /missing/],
    ['no key id', 'arn:aws:kms:us-east-1:111122223333:key/', 'InvalidKeyArn', 'resource', /missing/],
    [
      'an upper-case key id',
      KEY.toUpperCase().replace('ARN:AWS:KMS:US-EAST-1', 'arn:aws:kms:us-east-1').replace('KEY/', 'key/'),
      'InvalidKeyArn',
      'resource',
      /lower case/,
    ],
    ['a malformed key id', 'arn:aws:kms:us-east-1:111122223333:key/not-a-key', 'InvalidKeyArn', 'resource', /not key\/<key id>/],
    ['two ARNs', `${KEY} ${KEY}`, 'InvalidKeyArn', 'arn', /2 values/],
    ['an empty field', '  ', 'InvalidKeyArn', 'arn', /empty/],
    ['a quote inside one ARN', `${KEY}"`, 'InvalidKeyArn', 'arn', /characters/],
  ])('refuses %s', (_what, input, code, field, message) => {
    const parsed = parseKeyArn(input);
    expect(parsed).toMatchObject({ ok: false, failure: { code, field } });
    if (!parsed.ok) expect(parsed.failure.message).toMatch(message);
  });

  it('accepts a key ARN (whitespace around it ignored) and a multi-Region key in another partition', () => {
    expect(parseKeyArn(`  ${KEY}\n`)).toEqual({
      ok: true,
      arn: { arn: KEY, partition: 'aws', region: 'us-east-1', account: '111122223333', keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', multiRegion: false },
    });
    const mrk = 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef';
    expect(parseKeyArn(mrk)).toMatchObject({ ok: true, arn: { multiRegion: true, partition: 'aws-us-gov' } });
  });

  it('repeats hostile input escaped and cut short', () => {
    const parsed = parseKeyArn(`arn:aws:kms:us-east-1:111122223333:key/\u0007${'x'.repeat(500)}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.failure.message).not.toContain('\u0007');
      expect(parsed.failure.message.length).toBeLessThan(400);
    }
  });
});
