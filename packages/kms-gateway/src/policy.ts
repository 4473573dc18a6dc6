/**
 * An IAM resource-based (key) policy evaluator, written for the gateway because the only
 * maintained JS evaluator is AGPL. It covers what KMS key policies use: Principal /
 * NotPrincipal, Action / NotAction with wildcards, Resource / NotResource, and the
 * condition operators of the String, Bool and Null families with `IfExists` and the
 * `ForAnyValue:` / `ForAllValues:` set qualifiers. Pure: no HTTP, no clock, no I/O.
 *
 * Order follows AWS: any matching Deny wins, else any matching Allow, else implicit deny.
 */

export type PolicyDecision = 'allow' | 'explicitDeny' | 'implicitDeny';

/** A value of the request context: single-valued keys hold a string, multi-valued keys an array. */
export type ContextValue = string | readonly string[];

export interface PolicyRequest {
  /** The caller's principal ARN, e.g. `arn:aws:iam::111122223333:role/backup`. */
  readonly principalArn: string;
  /** The caller's 12-digit account id. */
  readonly principalAccount: string;
  /** Action with its service prefix, e.g. `kms:Decrypt`. */
  readonly action: string;
  /** The key ARN. */
  readonly resource: string;
  /** Condition keys present in this request (names are matched case-insensitively). */
  readonly context: Readonly<Record<string, ContextValue>>;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: PrincipalBlock;
  NotPrincipal?: PrincipalBlock;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export type PrincipalBlock = '*' | Record<string, string | string[]>;

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

export class PolicyParseError extends Error {
  override readonly name = 'PolicyParseError';
}

/** Parses a policy JSON text; throws PolicyParseError (KMS answers MalformedPolicyDocumentException). */
export function parsePolicy(text: string): PolicyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PolicyParseError('the policy is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || !('Statement' in doc)) {
    throw new PolicyParseError('the policy has no Statement');
  }
  const statements = asList((doc as PolicyDocument).Statement);
  for (const s of statements) {
    if (typeof s !== 'object' || s === null) throw new PolicyParseError('a statement is not an object');
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new PolicyParseError('a statement has no valid Effect');
    if ((s.Action === undefined) === (s.NotAction === undefined)) {
      throw new PolicyParseError('a statement needs exactly one of Action or NotAction');
    }
    if ((s.Principal === undefined) === (s.NotPrincipal === undefined)) {
      throw new PolicyParseError('a key policy statement needs exactly one of Principal or NotPrincipal');
    }
  }
  return doc as PolicyDocument;
}

export interface PolicyEvaluation {
  readonly decision: PolicyDecision;
  /** Sids (or indexes) of the statements that decided. */
  readonly matched: readonly string[];
}

export function evaluatePolicy(policy: PolicyDocument, request: PolicyRequest): PolicyEvaluation {
  const context = lowerKeys(request.context);
  const allows: string[] = [];
  const denies: string[] = [];
  asList(policy.Statement).forEach((s, i) => {
    if (!statementApplies(s, request, context)) return;
    (s.Effect === 'Deny' ? denies : allows).push(s.Sid ?? `#${i}`);
  });
  if (denies.length > 0) return { decision: 'explicitDeny', matched: denies };
  if (allows.length > 0) return { decision: 'allow', matched: allows };
  return { decision: 'implicitDeny', matched: [] };
}

function statementApplies(s: PolicyStatement, r: PolicyRequest, context: Map<string, ContextValue>): boolean {
  const principalOk =
    s.Principal !== undefined ? principalMatches(s.Principal, r) : !principalMatches(s.NotPrincipal!, r);
  if (!principalOk) return false;
  const actionOk =
    s.Action !== undefined
      ? asList(s.Action).some((a) => wildcardMatch(a, r.action, true))
      : !asList(s.NotAction!).some((a) => wildcardMatch(a, r.action, true));
  if (!actionOk) return false;
  // Key policies may omit Resource: the key itself is the resource.
  const resourceOk =
    s.NotResource !== undefined
      ? !asList(s.NotResource).some((p) => wildcardMatch(p, r.resource, false))
      : s.Resource === undefined || asList(s.Resource).some((p) => wildcardMatch(p, r.resource, false));
  if (!resourceOk) return false;
  return conditionsHold(s.Condition ?? {}, context);
}

/**
 * `*`, `{"AWS": "*"}`, a bare account id, the account's root ARN (which stands for every
 * principal of that account whose IAM policy allows the call; IAM is assumed to allow),
 * or the exact role / user ARN. Service principals never match a caller here.
 */
export function principalMatches(block: PrincipalBlock, r: Pick<PolicyRequest, 'principalArn' | 'principalAccount'>): boolean {
  if (block === '*') return true;
  const aws = block['AWS'];
  if (aws === undefined) return false;
  return asList(aws).some((p) => {
    if (p === '*') return true;
    if (/^\d{12}$/.test(p)) return p === r.principalAccount;
    if (p === `arn:aws:iam::${r.principalAccount}:root`) return true;
    return p === r.principalArn || stsSessionOf(r.principalArn) === p;
  });
}

/** An assumed-role session ARN also matches its role ARN. */
function stsSessionOf(arn: string): string | undefined {
  const m = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:aws:iam::${m[1]}:role/${m[2]}` : undefined;
}

type SetQualifier = 'ForAnyValue' | 'ForAllValues' | undefined;

function conditionsHold(block: Record<string, Record<string, unknown>>, context: Map<string, ContextValue>): boolean {
  for (const [rawOperator, entries] of Object.entries(block)) {
    const { qualifier, operator, ifExists } = splitOperator(rawOperator);
    for (const [rawKey, rawValues] of Object.entries(entries)) {
      const policyValues = asList(rawValues as unknown).map((v) => String(v));
      const present = context.get(rawKey.toLowerCase());
      if (!conditionHolds(operator, qualifier, ifExists, policyValues, present)) return false;
    }
  }
  return true;
}

function splitOperator(raw: string): { qualifier: SetQualifier; operator: string; ifExists: boolean } {
  let rest = raw;
  let qualifier: SetQualifier;
  if (rest.startsWith('ForAnyValue:')) {
    qualifier = 'ForAnyValue';
    rest = rest.slice('ForAnyValue:'.length);
  } else if (rest.startsWith('ForAllValues:')) {
    qualifier = 'ForAllValues';
    rest = rest.slice('ForAllValues:'.length);
  }
  const ifExists = rest.endsWith('IfExists');
  if (ifExists) rest = rest.slice(0, -'IfExists'.length);
  return { qualifier, operator: rest, ifExists };
}

const NEGATED = new Set(['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike']);

/** Exported for the evaluator's own tests. */
export function conditionHolds(
  operator: string,
  qualifier: SetQualifier,
  ifExists: boolean,
  policyValues: readonly string[],
  present: ContextValue | undefined,
): boolean {
  if (operator === 'Null') {
    const absent = present === undefined || (Array.isArray(present) && present.length === 0);
    return policyValues.some((v) => (v.toLowerCase() === 'true') === absent);
  }
  const values = present === undefined ? [] : typeof present === 'string' ? [present] : [...present];
  const match = matcher(operator);
  const negated = NEGATED.has(operator);
  // A value satisfies the operator when it matches any policy value (positive operators)
  // or none of them (negated operators).
  const satisfies = (v: string): boolean =>
    negated ? !policyValues.some((p) => match(p, v)) : policyValues.some((p) => match(p, v));

  if (qualifier === 'ForAllValues') {
    // The documented trap: an absent or empty set makes ForAllValues true.
    return values.every(satisfies);
  }
  if (values.length === 0) {
    if (ifExists) return true;
    // Positive operators need the key; negated operators hold when it is absent.
    return qualifier === undefined && negated;
  }
  return values.some(satisfies);
}

function matcher(operator: string): (policyValue: string, value: string) => boolean {
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
      return (p, v) => p === v;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return (p, v) => p.toLowerCase() === v.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
      return (p, v) => wildcardMatch(p, v, false);
    case 'Bool':
      return (p, v) => p.toLowerCase() === v.toLowerCase();
    case 'ArnEquals':
    case 'ArnLike':
      return (p, v) => wildcardMatch(p, v, false);
    default:
      // An operator the evaluator does not know never matches, so it cannot grant access.
      return () => false;
  }
}

/** `*` matches any run of characters, `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function asList<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as T[])] : [value as T];
}

function lowerKeys(context: Readonly<Record<string, ContextValue>>): Map<string, ContextValue> {
  return new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
}
