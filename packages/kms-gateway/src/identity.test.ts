import { describe, expect, it } from 'vitest';
import { atLeastAsStrict, constraintsHold } from './grants.ts';
import { storedPolicy } from './handlers.ts';
import { principalProblem } from './identity.ts';

describe('identity', () => {
  // https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html
  it('a principal may stand behind an access key only in that key’s own account', () => {
    expect(principalProblem('111122223333', 'arn:aws:iam::111122223333:role/backup')).toBeUndefined();
    expect(principalProblem('111122223333', 'arn:aws:sts::111122223333:assumed-role/backup/session')).toBeUndefined();
    expect(principalProblem('111122223333', 'arn:aws:iam::444455556666:root')).toContain('belongs to account 444455556666');
    expect(principalProblem('test', 'arn:aws:iam::000000000000:user/dev')).toBeUndefined();
    expect(principalProblem('111122223333', '111122223333')).toContain('is not an IAM or STS principal ARN');
  });
});

describe('grant constraints', () => {
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html
  it('keys match case-insensitively, values exactly', () => {
    expect(constraintsHold({ EncryptionContextEquals: { Tenant: 't1' } }, { tenant: 't1' })).toBe(true);
    expect(constraintsHold({ EncryptionContextSubset: { tenant: 't1' } }, { TENANT: 'T1' })).toBe(false);
  });
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
  it('a child grant is at least as strict only when every context it allows satisfies the parent', () => {
    const subset = { EncryptionContextSubset: { tenant: 't1' } };
    expect(atLeastAsStrict(undefined, undefined)).toBe(true);
    expect(atLeastAsStrict(subset, undefined)).toBe(false);
    expect(atLeastAsStrict(subset, { EncryptionContextSubset: { tenant: 't1', x: 'y' } })).toBe(true);
    expect(atLeastAsStrict(subset, { EncryptionContextEquals: { tenant: 't1' } })).toBe(true);
    expect(atLeastAsStrict({ EncryptionContextEquals: { tenant: 't1' } }, subset)).toBe(false);
    expect(atLeastAsStrict({ EncryptionContextEquals: { tenant: 't1' } }, { EncryptionContextEquals: { tenant: 't1', x: 'y' } })).toBe(false);
  });
});

describe('stored key policy', () => {
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts
  it('converts bare account principals to root ARNs and leaves other texts byte for byte', () => {
    const text = '{ "Statement": [ { "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::111122223333:root" }, "Action": "kms:*" } ] }';
    expect(storedPolicy(text)).toBe(text);
    const bare = JSON.parse(storedPolicy('{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["111122223333"]},"Action":"kms:*"}}')) as { Statement: { NotPrincipal: { AWS: string[] } } };
    expect(bare.Statement.NotPrincipal.AWS).toEqual(['arn:aws:iam::111122223333:root']);
  });
});
