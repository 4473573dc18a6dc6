import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  conditionHolds,
  evaluatePolicy,
  parsePolicy,
  PolicyParseError,
  principalMatches,
  wildcardMatch,
  type PolicyDocument,
  type PolicyRequest,
  type PolicyStatement,
} from './policy.ts';

const OWNER = '111122223333';
const PROVIDER = '444455556666';
const KEY = `arn:aws:kms:us-east-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ROLE = `arn:aws:iam::${PROVIDER}:role/backup-service`;

function request(over: Partial<PolicyRequest> = {}): PolicyRequest {
  return { principalArn: ROLE, principalAccount: PROVIDER, action: 'kms:Decrypt', resource: KEY, context: {}, ...over };
}

function policy(...Statement: PolicyStatement[]): PolicyDocument {
  return { Version: '2012-10-17', Statement };
}

const rootOfOwner: PolicyStatement = {
  Sid: 'Enable IAM User Permissions',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${OWNER}:root` },
  Action: 'kms:*',
  Resource: '*',
};

// The statement AWS documents for "allowing users in other accounts to use a KMS key".
const providerUse: PolicyStatement = {
  Sid: 'Allow use of the key by the provider',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${PROVIDER}:root` },
  Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
  Resource: '*',
};

function decide(p: PolicyDocument, over: Partial<PolicyRequest> = {}) {
  return evaluatePolicy(p, request(over)).decision;
}

describe('principal forms', () => {
  it('[EKM-02] the account root ARN stands for every principal of that account', () => {
    expect(decide(policy(providerUse))).toBe('allow');
    expect(decide(policy(providerUse), { principalArn: `arn:aws:iam::${PROVIDER}:user/alice` })).toBe('allow');
  });
  it('[EKM-02] a bare 12-digit account id is the same as its root ARN', () => {
    expect(principalMatches({ AWS: PROVIDER }, request())).toBe(true);
    expect(principalMatches({ AWS: OWNER }, request())).toBe(false);
  });
  it('[EKM-12] another account root does not match', () => {
    expect(decide(policy(rootOfOwner))).toBe('implicitDeny');
  });
  it('a role ARN matches that role and its assumed-role sessions only', () => {
    expect(principalMatches({ AWS: ROLE }, request())).toBe(true);
    expect(
      principalMatches({ AWS: ROLE }, request({ principalArn: `arn:aws:sts::${PROVIDER}:assumed-role/backup-service/s1` })),
    ).toBe(true);
    expect(principalMatches({ AWS: ROLE }, request({ principalArn: `arn:aws:iam::${PROVIDER}:role/other` }))).toBe(false);
  });
  it('"*" and {"AWS":"*"} match anyone; a service principal never matches a caller', () => {
    expect(principalMatches('*', request())).toBe(true);
    expect(principalMatches({ AWS: '*' }, request())).toBe(true);
    expect(principalMatches({ Service: 'backup.amazonaws.com' }, request())).toBe(false);
  });
  it('a list of principals matches any one', () => {
    expect(principalMatches({ AWS: [`arn:aws:iam::${OWNER}:root`, ROLE] }, request())).toBe(true);
  });
  it('NotPrincipal applies to everyone except the named principals', () => {
    const denyOthers: PolicyStatement = { Effect: 'Deny', NotPrincipal: { AWS: ROLE }, Action: 'kms:*', Resource: '*' };
    expect(decide(policy(providerUse, denyOthers))).toBe('allow');
    expect(decide(policy(providerUse, denyOthers), { principalArn: `arn:aws:iam::${PROVIDER}:role/x` })).toBe(
      'explicitDeny',
    );
  });
});

describe('actions and resources', () => {
  it('action wildcards are case-insensitive and anchored', () => {
    expect(decide(policy(providerUse), { action: 'kms:GenerateDataKeyWithoutPlaintext' })).toBe('allow');
    expect(decide(policy(providerUse), { action: 'KMS:decrypt' })).toBe('allow');
    expect(decide(policy(providerUse), { action: 'kms:ScheduleKeyDeletion' })).toBe('implicitDeny');
    expect(wildcardMatch('kms:Re?ncrypt*', 'kms:ReEncryptFrom', true)).toBe(true);
    expect(wildcardMatch('kms:Decrypt', 'kms:DecryptX', true)).toBe(false);
  });
  it('NotAction allows everything but the listed actions', () => {
    const s: PolicyStatement = { Effect: 'Allow', Principal: '*', NotAction: 'kms:Schedule*', Resource: '*' };
    expect(decide(policy(s), { action: 'kms:Decrypt' })).toBe('allow');
    expect(decide(policy(s), { action: 'kms:ScheduleKeyDeletion' })).toBe('implicitDeny');
  });
  it('Resource and NotResource match the key ARN with wildcards; a missing Resource means the key', () => {
    const only = (Resource: string): PolicyStatement => ({ ...providerUse, Resource });
    expect(decide(policy(only(KEY)))).toBe('allow');
    expect(decide(policy(only(`arn:aws:kms:us-east-1:${OWNER}:key/*`)))).toBe('allow');
    expect(decide(policy(only(`arn:aws:kms:eu-west-1:${OWNER}:key/*`)))).toBe('implicitDeny');
    const { Resource: _, ...noResource } = providerUse;
    expect(decide(policy(noResource))).toBe('allow');
    expect(decide(policy({ ...noResource, NotResource: KEY }))).toBe('implicitDeny');
  });
});

describe('evaluation order', () => {
  it('[EKM-12] an explicit Deny beats any Allow', () => {
    const deny: PolicyStatement = { Sid: 'Deny', Effect: 'Deny', Principal: { AWS: ROLE }, Action: 'kms:Decrypt', Resource: '*' };
    const r = evaluatePolicy(policy(providerUse, deny), request());
    expect(r).toEqual({ decision: 'explicitDeny', matched: ['Deny'] });
    expect(decide(policy(deny, providerUse), { action: 'kms:Encrypt' })).toBe('allow');
  });
  it('[EKM-12] with no statement that applies, the answer is an implicit deny', () => {
    expect(decide(policy())).toBe('implicitDeny');
  });
  it('[EKM-13] putting the provider statement back allows again', () => {
    expect(decide(policy(rootOfOwner))).toBe('implicitDeny');
    expect(decide(policy(rootOfOwner, providerUse))).toBe('allow');
  });
  it('a Deny on a condition that does not hold does not apply', () => {
    const deny: PolicyStatement = {
      Effect: 'Deny',
      Principal: '*',
      Action: 'kms:*',
      Resource: '*',
      Condition: { StringNotEquals: { 'kms:CallerAccount': [OWNER, PROVIDER] } },
    };
    expect(decide(policy(providerUse, deny), { context: { 'kms:CallerAccount': PROVIDER } })).toBe('allow');
    expect(decide(policy(providerUse, deny), { context: { 'kms:CallerAccount': '999999999999' } })).toBe('explicitDeny');
  });
});

describe('condition operators', () => {
  const withCondition = (Condition: PolicyStatement['Condition']): PolicyDocument =>
    policy({ ...providerUse, Condition });

  it('[EKM-20] StringEquals on kms:EncryptionContext:<key> requires that pair', () => {
    const p = withCondition({ StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } });
    expect(decide(p, { context: { 'kms:EncryptionContext:tenant': 'acme' } })).toBe('allow');
    expect(decide(p, { context: { 'kms:EncryptionContext:tenant': 'other' } })).toBe('implicitDeny');
    expect(decide(p, { context: {} })).toBe('implicitDeny');
  });
  it('condition key names match case-insensitively, values case-sensitively', () => {
    const p = withCondition({ StringEquals: { 'KMS:callerAccount': PROVIDER } });
    expect(decide(p, { context: { 'kms:CallerAccount': PROVIDER } })).toBe('allow');
    const q = withCondition({ StringEquals: { 'kms:EncryptionContext:tenant': 'ACME' } });
    expect(decide(q, { context: { 'kms:EncryptionContext:tenant': 'acme' } })).toBe('implicitDeny');
  });
  it('StringEqualsIgnoreCase ignores case of values', () => {
    const p = withCondition({ StringEqualsIgnoreCase: { 'kms:EncryptionContext:tenant': 'ACME' } });
    expect(decide(p, { context: { 'kms:EncryptionContext:tenant': 'acme' } })).toBe('allow');
  });
  it('StringEquals with several values is an OR', () => {
    const p = withCondition({ StringEquals: { 'kms:CallerAccount': [OWNER, PROVIDER] } });
    expect(decide(p, { context: { 'kms:CallerAccount': PROVIDER } })).toBe('allow');
    expect(decide(p, { context: { 'kms:CallerAccount': '999999999999' } })).toBe('implicitDeny');
  });
  it('several keys and several operators in one block are an AND', () => {
    const p = withCondition({
      StringEquals: { 'kms:CallerAccount': PROVIDER, 'kms:EncryptionContext:purpose': 'tenant-key' },
      StringLike: { 'aws:PrincipalArn': `arn:aws:iam::${PROVIDER}:role/backup-*` },
    });
    const context = { 'kms:CallerAccount': PROVIDER, 'kms:EncryptionContext:purpose': 'tenant-key', 'aws:PrincipalArn': ROLE };
    expect(decide(p, { context })).toBe('allow');
    expect(decide(p, { context: { ...context, 'kms:EncryptionContext:purpose': 'x' } })).toBe('implicitDeny');
    expect(decide(p, { context: { ...context, 'aws:PrincipalArn': `arn:aws:iam::${PROVIDER}:role/ops` } })).toBe(
      'implicitDeny',
    );
  });
  it('StringLike matches * and ? in aws:PrincipalArn', () => {
    const p = withCondition({ StringLike: { 'aws:PrincipalArn': `arn:aws:iam::${PROVIDER}:role/backup-?ervice` } });
    expect(decide(p, { context: { 'aws:PrincipalArn': ROLE } })).toBe('allow');
    expect(decide(p, { context: {} })).toBe('implicitDeny');
  });
  it('StringNotEquals holds for other values and for an absent key', () => {
    const p = withCondition({ StringNotEquals: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } });
    expect(decide(p, { context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } })).toBe('allow');
    expect(decide(p, { context: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } })).toBe('implicitDeny');
    expect(decide(p, { context: {} })).toBe('allow');
  });
  it('StringNotLike holds when no pattern matches', () => {
    const p = withCondition({ StringNotLike: { 'aws:PrincipalArn': ['*:role/ops*', '*:user/*'] } });
    expect(decide(p, { context: { 'aws:PrincipalArn': ROLE } })).toBe('allow');
    expect(decide(p, { context: { 'aws:PrincipalArn': `arn:aws:iam::${PROVIDER}:user/bob` } })).toBe('implicitDeny');
  });
  it('kms:ViaService StringEquals requires the call to come through that service', () => {
    const p = withCondition({ StringEquals: { 'kms:ViaService': 'backup.us-east-1.amazonaws.com' } });
    expect(decide(p, { context: { 'kms:ViaService': 'backup.us-east-1.amazonaws.com' } })).toBe('allow');
    expect(decide(p, { context: {} })).toBe('implicitDeny');
  });
  it('Bool on kms:GrantIsForAWSResource', () => {
    const p = policy({
      ...providerUse,
      Action: 'kms:CreateGrant',
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
    expect(decide(p, { action: 'kms:CreateGrant', context: { 'kms:GrantIsForAWSResource': 'true' } })).toBe('allow');
    expect(decide(p, { action: 'kms:CreateGrant', context: { 'kms:GrantIsForAWSResource': 'false' } })).toBe(
      'implicitDeny',
    );
    expect(decide(p, { action: 'kms:CreateGrant', context: {} })).toBe('implicitDeny');
    expect(conditionHolds('Bool', undefined, false, ['True'], 'true')).toBe(true);
  });
  it('Null true means the key is absent, false means present', () => {
    const absent = withCondition({ Null: { 'kms:EncryptionContextKeys': 'true' } });
    const present = withCondition({ Null: { 'kms:EncryptionContextKeys': 'false' } });
    expect(decide(absent, { context: {} })).toBe('allow');
    expect(decide(present, { context: {} })).toBe('implicitDeny');
    expect(decide(present, { context: { 'kms:EncryptionContextKeys': ['tenant'] } })).toBe('allow');
    expect(conditionHolds('Null', undefined, false, ['true'], [])).toBe(true);
  });
  it('IfExists holds when the key is absent and tests it when present', () => {
    const p = withCondition({ StringEqualsIfExists: { 'kms:ViaService': 'backup.us-east-1.amazonaws.com' } });
    expect(decide(p, { context: {} })).toBe('allow');
    expect(decide(p, { context: { 'kms:ViaService': 'backup.us-east-1.amazonaws.com' } })).toBe('allow');
    expect(decide(p, { context: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } })).toBe('implicitDeny');
  });
  it('ForAnyValue:StringEquals on kms:EncryptionContextKeys needs one listed key', () => {
    const p = withCondition({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': ['tenant', 'purpose'] } });
    expect(decide(p, { context: { 'kms:EncryptionContextKeys': ['tenant', 'other'] } })).toBe('allow');
    expect(decide(p, { context: { 'kms:EncryptionContextKeys': ['other'] } })).toBe('implicitDeny');
    expect(decide(p, { context: {} })).toBe('implicitDeny');
  });
  it('ForAllValues:StringEquals needs every key listed', () => {
    const p = withCondition({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenant', 'purpose'] } });
    expect(decide(p, { context: { 'kms:EncryptionContextKeys': ['tenant', 'purpose'] } })).toBe('allow');
    expect(decide(p, { context: { 'kms:EncryptionContextKeys': ['tenant', 'other'] } })).toBe('implicitDeny');
  });
  it('[EKM-20] the ForAllValues trap: an empty set satisfies ForAllValues, so a Null check is needed', () => {
    const trap = withCondition({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenant', 'purpose'] } });
    // No encryption context at all: AWS evaluates ForAllValues over the empty set as true.
    expect(decide(trap, { context: {} })).toBe('allow');
    expect(decide(trap, { context: { 'kms:EncryptionContextKeys': [] } })).toBe('allow');
    // The documented fix: also require that the key is present.
    const fixed = withCondition({
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenant', 'purpose'] },
      Null: { 'kms:EncryptionContextKeys': 'false' },
    });
    expect(decide(fixed, { context: {} })).toBe('implicitDeny');
    expect(decide(fixed, { context: { 'kms:EncryptionContextKeys': ['tenant'] } })).toBe('allow');
  });
  it('ForAnyValue:StringNotEquals holds when one value is outside the list; ForAllValues:StringNotLike when all are', () => {
    expect(conditionHolds('StringNotEquals', 'ForAnyValue', false, ['a'], ['a', 'b'])).toBe(true);
    expect(conditionHolds('StringNotEquals', 'ForAnyValue', false, ['a'], ['a'])).toBe(false);
    expect(conditionHolds('StringNotLike', 'ForAllValues', false, ['x*'], ['a', 'b'])).toBe(true);
    expect(conditionHolds('StringNotLike', 'ForAllValues', false, ['x*'], ['a', 'xb'])).toBe(false);
  });
  it('ForAnyValue:StringLike on encryption context keys', () => {
    expect(conditionHolds('StringLike', 'ForAnyValue', false, ['ten*'], ['purpose', 'tenant'])).toBe(true);
    expect(conditionHolds('StringLike', 'ForAnyValue', false, ['ten*'], [])).toBe(false);
  });
  it('an unknown operator never grants access', () => {
    const p = withCondition({ NumericLessThan: { 'kms:CallerAccount': '5' } });
    expect(decide(p, { context: { 'kms:CallerAccount': '1' } })).toBe('implicitDeny');
  });
  it('property: Deny with the same scope as an Allow always wins, whatever the order', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.constantFrom('kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'), (denyFirst, action) => {
        const deny: PolicyStatement = { ...providerUse, Effect: 'Deny' };
        const p = denyFirst ? policy(deny, providerUse) : policy(providerUse, deny);
        return decide(p, { action }) === 'explicitDeny';
      }),
    );
  });
});

describe('parsePolicy', () => {
  it('accepts a key policy and refuses malformed ones', () => {
    expect(parsePolicy(JSON.stringify(policy(rootOfOwner))).Statement).toHaveLength(1);
    expect(() => parsePolicy('{')).toThrow(PolicyParseError);
    expect(() => parsePolicy('{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"kms:*"}]}')).toThrow(
      PolicyParseError,
    );
    expect(() => parsePolicy('{"Statement":[{"Effect":"Allow","Action":"kms:*"}]}')).toThrow(PolicyParseError);
  });
});
