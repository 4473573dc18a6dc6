import { describe, expect, it } from 'vitest';
import { parseKeyArn } from './arn.ts';

const good = 'arn:aws:kms:eu-west-1:444455556666:key/11111111-1111-4111-8111-111111111111';

describe('parseKeyArn', () => {
  it('[EKM-03] accepts a KMS key ARN and reads its parts', () => {
    const r = parseKeyArn(` ${good} `);
    expect(r).toEqual({
      ok: true,
      value: { arn: good, partition: 'aws', region: 'eu-west-1', account: '444455556666', keyId: '11111111-1111-4111-8111-111111111111', multiRegion: false },
    });
  });

  it('[EKM-04] accepts a multi-Region key ARN', () => {
    const r = parseKeyArn('arn:aws:kms:us-east-1:444455556666:key/mrk-0123456789abcdef0123456789abcdef');
    expect(r.ok && r.value.multiRegion).toBe(true);
  });

  it.each([
    ['https://contoso.vault.azure.net/keys/k/0123', 'UnsupportedKeyLocation', 'arn'],
    ['https://contoso.managedhsm.azure.net/keys/k', 'UnsupportedKeyLocation', 'arn'],
    ['projects/p/locations/global/keyRings/r/cryptoKeys/k', 'UnsupportedKeyLocation', 'arn'],
    ['gcp-kms://projects/p/locations/global/keyRings/r/cryptoKeys/k', 'UnsupportedKeyLocation', 'arn'],
    ['arn:aws:kms:eu-west-1:444455556666:alias/backup', 'AliasNotAccepted', 'resource'],
    ['alias/backup', 'AliasNotAccepted', 'arn'],
    ['arn:aws:kms:cn-north-1:444455556666:key/11111111-1111-4111-8111-111111111111', 'InvalidKeyArn', 'region'],
    [`${good} ${good}`, 'InvalidKeyArn', 'arn'],
    ['11111111-1111-4111-8111-111111111111', 'InvalidKeyArn', 'arn'],
    ['arn:aws:s3:::bucket:x', 'InvalidKeyArn', 'service'],
    ['arn:aws:secretsmanager:eu-west-1:444455556666:secret:x', 'InvalidKeyArn', 'service'],
    ['arn:azure:kms:eu-west-1:444455556666:key/11111111-1111-4111-8111-111111111111', 'InvalidKeyArn', 'partition'],
    ['arn:aws:kms:europe:444455556666:key/11111111-1111-4111-8111-111111111111', 'InvalidKeyArn', 'region'],
    ['arn:aws:kms:eu-west-1:4444:key/11111111-1111-4111-8111-111111111111', 'InvalidKeyArn', 'account'],
    ['arn:aws:kms:eu-west-1:444455556666:key/not-a-key-id', 'InvalidKeyArn', 'resource'],
    ['', 'InvalidKeyArn', 'arn'],
  ])('[EKM-03] refuses %j with %s naming the part at fault', (input, code, field) => {
    const r = parseKeyArn(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.code).toBe(code);
    expect(r.failure.field).toBe(field);
    expect(r.failure.message.length).toBeGreaterThan(10);
  });
});
