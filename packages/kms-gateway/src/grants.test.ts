import { describe, expect, it } from 'vitest';
import { constraintsHold, GrantStore } from './grants.ts';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ROLE = 'arn:aws:iam::444455556666:role/backup';

describe('grants', () => {
  it('[EKM-20] EncryptionContextEquals needs exactly the pairs; EncryptionContextSubset at least them', () => {
    const equals = { EncryptionContextEquals: { tenant: 't1' } };
    expect(constraintsHold(equals, { tenant: 't1' })).toBe(true);
    expect(constraintsHold(equals, { tenant: 't1', purpose: 'x' })).toBe(false);
    expect(constraintsHold(equals, {})).toBe(false);
    const subset = { EncryptionContextSubset: { tenant: 't1' } };
    expect(constraintsHold(subset, { tenant: 't1', purpose: 'x' })).toBe(true);
    expect(constraintsHold(subset, { tenant: 't2' })).toBe(false);
    expect(constraintsHold(undefined, {})).toBe(true);
  });
  it('[EKM-12] a grant allows only its grantee, its operations and its key; revoking removes it', () => {
    const store = new GrantStore();
    store.add({ grantId: 'g1', grantToken: 'tok', keyArn: KEY, granteePrincipal: ROLE, operations: ['Decrypt'] });
    const call = { operation: 'Decrypt', principalArn: ROLE, principalAccount: '444455556666', keyArn: KEY, encryptionContext: {} };
    expect(store.allowing(call)?.grantId).toBe('g1');
    expect(store.allowing({ ...call, operation: 'Encrypt' })).toBeUndefined();
    expect(store.allowing({ ...call, principalArn: 'arn:aws:iam::444455556666:role/other' })).toBeUndefined();
    expect(store.allowing({ ...call, keyArn: KEY.replace('1234abcd', 'ffffabcd') })).toBeUndefined();
    expect(store.remove({ grantToken: 'tok' })?.grantId).toBe('g1');
    expect(store.allowing(call)).toBeUndefined();
  });
});
