import { KmsError, messages } from './errors.ts';
import { atLeastAsStrict, GrantStore, type Constraints } from './grants.ts';
import type { Caller } from './identity.ts';
import { keyRefOf, type KeyMetadata } from './keys.ts';
import { factsOf } from './operations.ts';
import { evaluatePolicy, parsePolicy, PolicyParseError, type ContextValue } from './policy.ts';
import type { GatewayState, KeyUse } from './state.ts';

const ENCRYPTION_ALGORITHMS: Record<string, readonly string[]> = {
  SYMMETRIC_DEFAULT: ['SYMMETRIC_DEFAULT'],
  RSA_2048: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  RSA_3072: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  RSA_4096: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  SM2: ['SM2PKE'],
};

/** Key policy, then grants, as AWS authorises a call on a key (Deny > Allow > grants > implicit deny). */
export async function authorize(s: GatewayState, op: string, use: KeyUse, caller: Caller, body: Record<string, unknown>): Promise<void> {
  const { ref } = use;
  if (ref.account !== caller.account && !factsOf(op).crossAccount) {
    throw new KmsError('AccessDeniedException', messages.crossAccount(caller.principalArn, op, ref.arn));
  }
  // The grant decides who may retire it (authorizeRetire), not the key policy.
  if (op === 'RetireGrant') return;
  const policy = await s.keys.policy(ref);
  const decision = evaluatePolicy(policy, {
    principalArn: caller.principalArn,
    principalAccount: caller.account,
    action: `kms:${use.action}`,
    resource: ref.arn,
    context: conditionContext(op, use, caller, body),
  }).decision;
  if (decision === 'allow') return;
  if (decision === 'implicitDeny') {
    const grant = s.grants.allowing({
      operation: use.action,
      principalArn: caller.principalArn,
      principalAccount: caller.account,
      keyArn: ref.arn,
      encryptionContext: use.encryptionContext,
    });
    // A grant made with a constrained grant's CreateGrant must be as strict as its parent.
    if (grant && (op !== 'CreateGrant' || atLeastAsStrict(grant.constraints, body['Constraints'] as Constraints | undefined))) return;
  }
  s.stats.accessDenied++;
  throw new KmsError('AccessDeniedException', messages.accessDenied(caller.principalArn, use.action, ref.arn, decision === 'explicitDeny'));
}

/** RetireGrant: only the principals the grant names, or the key's account, may retire it. */
export function authorizeRetire(s: GatewayState, body: Record<string, unknown>, uses: KeyUse[], caller: Caller): void {
  const grant = s.grants.find({
    grantToken: body['GrantToken'] as string | undefined,
    grantId: body['GrantId'] as string | undefined,
    keyArn: uses[0]?.ref.arn,
  });
  if (grant === undefined) return; // a grant the gateway never saw: LocalStack answers
  const keyAccount = keyRefOf(grant.keyArn)!.account;
  if (!GrantStore.mayRetire(grant, { principalArn: caller.principalArn, principalAccount: caller.account }, keyAccount)) {
    s.stats.accessDenied++;
    throw new KmsError('AccessDeniedException', messages.retireDenied(caller.principalArn, grant.grantId));
  }
}

/** Checks AWS makes that LocalStack does not: missing material, key usage and algorithm. */
export async function checkKey(s: GatewayState, op: string, use: KeyUse, body: Record<string, unknown>): Promise<KeyMetadata | undefined> {
  const { ref } = use;
  let meta: KeyMetadata;
  try {
    meta = await s.keys.metadata(ref);
  } catch (error) {
    if (error instanceof KmsError && error.code === 'NotFoundException' && op !== 'ListKeyRotations') return undefined; // LocalStack answers it
    throw error;
  }
  const imports = op === 'ImportKeyMaterial' || op === 'DeleteImportedKeyMaterial' || op === 'GetParametersForImport';
  if (imports && meta.Origin !== 'EXTERNAL') throw new KmsError('UnsupportedOperationException', messages.wrongOrigin(ref.arn, meta.Origin));
  const facts = factsOf(op);
  if (!facts.needsMaterial) return meta;
  if (meta.KeyState === 'PendingImport') throw new KmsError('KMSInvalidStateException', messages.pendingImport(ref.arn));
  const encrypts = op === 'Encrypt' || op === 'Decrypt' || use.action === 'ReEncryptFrom' || use.action === 'ReEncryptTo';
  const enabled = meta.KeyState === 'Enabled';
  if ((encrypts || facts.dataKey) && meta.KeyUsage !== 'ENCRYPT_DECRYPT' && enabled) {
    throw new KmsError('InvalidKeyUsageException', messages.wrongKeyUsage(ref.arn, meta.KeyUsage, op));
  }
  if (facts.dataKey && meta.KeySpec !== 'SYMMETRIC_DEFAULT' && enabled) {
    throw new KmsError('InvalidKeyUsageException', messages.wrongAlgorithm(ref.arn, meta.KeySpec, 'SYMMETRIC_DEFAULT'));
  }
  if (encrypts && enabled) {
    const field = use.action === 'ReEncryptFrom' ? 'SourceEncryptionAlgorithm' : use.action === 'ReEncryptTo' ? 'DestinationEncryptionAlgorithm' : 'EncryptionAlgorithm';
    const algorithm = typeof body[field] === 'string' ? (body[field] as string) : 'SYMMETRIC_DEFAULT';
    if (!(ENCRYPTION_ALGORITHMS[meta.KeySpec] ?? []).includes(algorithm)) {
      throw new KmsError('InvalidKeyUsageException', messages.wrongAlgorithm(ref.arn, meta.KeySpec, algorithm));
    }
  }
  return meta;
}

/** AWS refuses malformed policies and, unless told to bypass the check, policies that lock the caller out. */
export function checkPolicyLockout(op: string, body: Record<string, unknown>, caller: Caller, uses: KeyUse[]): void {
  if ((op !== 'PutKeyPolicy' && op !== 'CreateKey') || typeof body['Policy'] !== 'string') return;
  const resource = uses[0]?.ref.arn ?? `arn:aws:kms:${caller.region}:${caller.account}:key/*`;
  let doc;
  try {
    doc = parsePolicy(body['Policy']);
  } catch (error) {
    if (error instanceof PolicyParseError) throw new KmsError('MalformedPolicyDocumentException', error.message);
    throw error;
  }
  if (body['BypassPolicyLockoutSafetyCheck'] === true) return;
  const ref = keyRefOf(resource) ?? { arn: resource, account: caller.account, region: caller.region, keyId: '*' };
  const decision = evaluatePolicy(doc, {
    principalArn: caller.principalArn,
    principalAccount: caller.account,
    action: 'kms:PutKeyPolicy',
    resource,
    context: conditionContext(op, { ref, action: op, encryptionContext: {} }, caller, body),
  }).decision;
  if (decision !== 'allow') throw new KmsError('MalformedPolicyDocumentException', messages.lockout());
}

export function conditionContext(op: string, use: KeyUse, caller: Caller, body: Record<string, unknown>): Record<string, ContextValue> {
  const context: Record<string, ContextValue> = {
    'kms:CallerAccount': caller.account,
    'aws:PrincipalArn': caller.principalArn,
    'aws:PrincipalAccount': caller.account,
  };
  const pairs = Object.entries(use.encryptionContext);
  for (const [k, v] of pairs) context[`kms:EncryptionContext:${k}`] = v;
  if (pairs.length > 0) context['kms:EncryptionContextKeys'] = pairs.map(([k]) => k);
  if (caller.viaService !== undefined) context['kms:ViaService'] = caller.viaService;
  if (typeof body['EncryptionAlgorithm'] === 'string') context['kms:EncryptionAlgorithm'] = body['EncryptionAlgorithm'];
  if (op === 'CreateGrant' || op === 'ListGrants' || op === 'RevokeGrant') {
    context['kms:GrantIsForAWSResource'] = caller.grantIsForAwsResource ?? 'false';
  }
  if (op === 'CreateGrant') {
    if (typeof body['GranteePrincipal'] === 'string') context['kms:GranteePrincipal'] = body['GranteePrincipal'];
    if (typeof body['RetiringPrincipal'] === 'string') context['kms:RetiringPrincipal'] = body['RetiringPrincipal'];
    if (Array.isArray(body['Operations'])) context['kms:GrantOperations'] = body['Operations'] as string[];
  }
  return context;
}
