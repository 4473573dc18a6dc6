// Issue 18, "What customers meet": three ARN refusals that said the wrong thing.
import { describe, expect, it } from 'vitest';
import { parseKeyArn } from '../../src/arn.ts';

const UUID = '1234abcd-12ab-34cd-56ef-1234567890ab';

function refusal(input: string) {
  const r = parseKeyArn(input);
  if (r.ok) throw new Error(`accepted ${input}`);
  return r.failure;
}

describe('regression: ARN refusals name the real problem', () => {
  it('[EKM-03] one malformed ARN with a quote and semicolons is one malformed value, not "5 values"', () => {
    const input = `arn:aws:kms:us-east-1:111122223333:key/${UUID}";DROP;TABLE;keys`;
    const f = refusal(input);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'arn' });
    expect(f.message).not.toMatch(/values were given/);
    expect(f.message).toMatch(/is one malformed key ARN: it holds characters a key ARN never has \(" ;\)/);
  });

  it('[EKM-03] two ARNs separated by a semicolon are still two values', () => {
    const arn = `arn:aws:kms:us-east-1:111122223333:key/${UUID}`;
    expect(refusal(`${arn};${arn}`).message).toBe('Enter exactly one key ARN; 2 values were given.');
  });

  it('[EKM-03] an upper-case key id is refused saying key ids are lower case', () => {
    const f = refusal(`arn:aws:kms:us-east-1:111122223333:key/${UUID.toUpperCase()}`);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'resource' });
    expect(f.message).toContain('AWS KMS key IDs are lower case');
    expect(f.message).toContain(`use key/${UUID}`);
  });

  it('[EKM-03] a missing Region is called missing', () => {
    const f = refusal(`arn:aws:kms::111122223333:key/${UUID}`);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'region' });
    expect(f.message).toMatch(/^The Region is missing/);
  });

  it.each([
    ['an empty key id', 'arn:aws:kms:us-east-1:111122223333:key/'],
    ['no resource at all', 'arn:aws:kms:us-east-1:111122223333:'],
    ['the ARN cut after the account', 'arn:aws:kms:us-east-1:111122223333'],
  ])('[EKM-03] a missing key id is called missing: %s', (_, input) => {
    const f = refusal(input);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'resource' });
    expect(f.message).toMatch(/^The key ID is missing/);
  });

  it('[EKM-03] a missing account is called missing', () => {
    const f = refusal(`arn:aws:kms:us-east-1::key/${UUID}`);
    expect(f).toMatchObject({ code: 'InvalidKeyArn', field: 'account' });
    expect(f.message).toMatch(/^The account ID is missing/);
  });
});
