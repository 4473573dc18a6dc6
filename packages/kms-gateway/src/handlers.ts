import { KmsError } from './errors.ts';
import type { Caller } from './identity.ts';
import { wrapForUpload } from './imports.ts';
import { keyRefOf, type KeyRef } from './keys.ts';
import { LOCALSTACK_ON_DEMAND_LIMIT } from './rotations.ts';
import type { GatewayState, KeyUse, Sent } from './state.ts';

/** Sends one call to LocalStack with the caller's headers. */
export type Send = (op: string, body: Record<string, unknown>) => Promise<Sent>;

export interface Call {
  s: GatewayState;
  op: string;
  body: Record<string, unknown>;
  uses: KeyUse[];
  caller: Caller;
  send: Send;
}

/**
 * One handler per operation the gateway answers differently from a plain forward; every
 * other operation is forwarded as `upstreamBody` makes it.
 */
export const HANDLERS: Readonly<Record<string, (call: Call) => Promise<Sent>>> = {
  ReEncrypt: reEncrypt,
  GetParametersForImport: getParametersForImport,
  ImportKeyMaterial: importKeyMaterial,
  RotateKeyOnDemand: rotateKeyOnDemand,
  ListKeyRotations: listKeyRotations,
  RetireGrant: retireGrant,
};

/**
 * LocalStack's ReEncrypt drops the account of both keys, so it fails across accounts.
 * The gateway does what it means, as the caller: Decrypt under the source key, then
 * Encrypt under the destination key; the plaintext only passes through memory.
 */
async function reEncrypt({ body, uses, send }: Call): Promise<Sent> {
  const from = uses.find((u) => u.action === 'ReEncryptFrom');
  const to = uses.find((u) => u.action === 'ReEncryptTo')!;
  const decrypted = await send('Decrypt', {
    CiphertextBlob: body['CiphertextBlob'],
    ...(from ? { KeyId: from.ref.arn } : {}),
    ...(body['SourceEncryptionContext'] !== undefined ? { EncryptionContext: body['SourceEncryptionContext'] } : {}),
    ...(body['SourceEncryptionAlgorithm'] !== undefined ? { EncryptionAlgorithm: body['SourceEncryptionAlgorithm'] } : {}),
  });
  if ('error' in decrypted) return decrypted;
  const encrypted = await send('Encrypt', {
    KeyId: to.ref.arn,
    Plaintext: decrypted.answer['Plaintext'],
    ...(body['DestinationEncryptionContext'] !== undefined ? { EncryptionContext: body['DestinationEncryptionContext'] } : {}),
    ...(body['DestinationEncryptionAlgorithm'] !== undefined ? { EncryptionAlgorithm: body['DestinationEncryptionAlgorithm'] } : {}),
  });
  if ('error' in encrypted) return encrypted;
  return {
    answer: {
      CiphertextBlob: encrypted.answer['CiphertextBlob'],
      SourceKeyId: decrypted.answer['KeyId'],
      KeyId: encrypted.answer['KeyId'],
      SourceEncryptionAlgorithm: decrypted.answer['EncryptionAlgorithm'] ?? body['SourceEncryptionAlgorithm'] ?? 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: encrypted.answer['EncryptionAlgorithm'] ?? body['DestinationEncryptionAlgorithm'] ?? 'SYMMETRIC_DEFAULT',
    },
  };
}

/** LocalStack checks the key and the parameters; the gateway hands out its own wrapping key and a token bound to the key. */
async function getParametersForImport({ s, body, uses, send }: Call): Promise<Sent> {
  const ref = uses[0]!.ref;
  const sent = await send('GetParametersForImport', { ...body, KeyId: ref.arn });
  if ('error' in sent) return sent;
  const issued = await s.imports.issue(ref.arn, String(body['WrappingAlgorithm']), String(body['WrappingKeySpec']), s.timeOf(ref.account));
  return { answer: { KeyId: ref.arn, ...issued } };
}

/** Unwraps with the gateway's key (token, key and material checked), re-wraps for LocalStack with a fresh LocalStack token. */
async function importKeyMaterial({ s, body, uses, send }: Call): Promise<Sent> {
  const ref = uses[0]!.ref;
  const wrapped = Buffer.from(String(body['EncryptedKeyMaterial']), 'base64');
  return s.imports.unwrap(
    ref.arn,
    String(body['ImportToken']),
    wrapped,
    s.timeOf(ref.account),
    async (material) => {
      const params = await s.upstream.call<{ ImportToken: string; PublicKey: string }>(ref.account, ref.region, 'GetParametersForImport', {
        KeyId: ref.arn,
        WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      });
      const rewrapped = wrapForUpload(Buffer.from(params.PublicKey, 'base64'), material);
      return send('ImportKeyMaterial', { ...body, KeyId: ref.arn, ImportToken: params.ImportToken, EncryptedKeyMaterial: rewrapped.toString('base64') });
    },
    (sent) => 'answer' in sent,
  );
}

/** AWS's quota of on-demand rotations, past LocalStack's own limit (see rotations.ts for what that means). */
async function rotateKeyOnDemand({ s, body, uses, send }: Call): Promise<Sent> {
  const ref = uses[0]!.ref;
  s.rotations.checkOnDemand(ref.arn);
  const sent = await send('RotateKeyOnDemand', { ...body, KeyId: ref.arn });
  const now = s.timeOf(ref.account);
  if ('answer' in sent) {
    s.rotations.record(ref.arn, { date: now, type: 'ON_DEMAND', backed: true });
    return { answer: { KeyId: ref.keyId } };
  }
  if (sent.error.code === 'LimitExceededException' && s.rotations.onDemandCount(ref.arn) >= LOCALSTACK_ON_DEMAND_LIMIT) {
    s.rotations.record(ref.arn, { date: now, type: 'ON_DEMAND', backed: false });
    return { answer: { KeyId: ref.keyId } };
  }
  return sent;
}

/** LocalStack 4.10 has no ListKeyRotations; the gateway answers from the rotations it made. */
async function listKeyRotations({ s, body, uses }: Call): Promise<Sent> {
  const ref = uses[0]!.ref;
  const meta = await s.keys.metadata(ref);
  if (meta.KeySpec !== 'SYMMETRIC_DEFAULT' || meta.Origin === 'EXTERNAL') {
    throw new KmsError('UnsupportedOperationException', `${ref.arn} key spec or origin does not support key rotation.`);
  }
  const limit = typeof body['Limit'] === 'number' ? body['Limit'] : undefined;
  const marker = typeof body['Marker'] === 'string' ? body['Marker'] : undefined;
  return { answer: s.rotations.page(ref.arn, ref.keyId, limit, marker) };
}

/** A grant the gateway knows is retired in its key's account, where LocalStack keeps it (it looks a GrantId up in the caller's). */
async function retireGrant({ s, body, uses, send }: Call): Promise<Sent> {
  const grant = s.grants.find({ grantToken: body['GrantToken'] as string | undefined, grantId: body['GrantId'] as string | undefined, keyArn: uses[0]?.ref.arn });
  if (grant === undefined) return send('RetireGrant', body);
  const ref = keyRefOf(grant.keyArn)!;
  await s.upstream.call(ref.account, ref.region, 'RetireGrant', { KeyId: grant.keyArn, GrantId: grant.grantId });
  return { answer: {} };
}

/** The keys a call acts on, resolved to ARNs; Decrypt without KeyId is routed by the key id in the blob. */
export async function keyUses(s: GatewayState, op: string, body: Record<string, unknown>, caller: Caller): Promise<KeyUse[]> {
  const ctx = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, string>) : {});
  const resolve = (raw: unknown) => s.keys.resolve(String(raw), caller);
  switch (op) {
    case 'CreateKey': case 'ListKeys': case 'ListAliases': case 'GenerateRandom': case 'ListRetirableGrants':
    case 'CreateCustomKeyStore': case 'DescribeCustomKeyStores':
      return body['KeyId'] === undefined ? [] : [{ ref: await resolve(body['KeyId']), action: op, encryptionContext: {} }];
    case 'Decrypt': {
      const ref = body['KeyId'] !== undefined ? await resolve(body['KeyId']) : blobKey(s, body['CiphertextBlob'], caller);
      return ref ? [{ ref, action: op, encryptionContext: ctx(body['EncryptionContext']) }] : [];
    }
    case 'ReEncrypt': {
      const from = body['SourceKeyId'] !== undefined ? await resolve(body['SourceKeyId']) : blobKey(s, body['CiphertextBlob'], caller);
      const to = await resolve(body['DestinationKeyId']);
      return [
        ...(from ? [{ ref: from, action: 'ReEncryptFrom', encryptionContext: ctx(body['SourceEncryptionContext']) }] : []),
        { ref: to, action: 'ReEncryptTo', encryptionContext: ctx(body['DestinationEncryptionContext']) },
      ];
    }
    case 'CreateAlias': case 'UpdateAlias':
      return [{ ref: await resolve(body['TargetKeyId']), action: op, encryptionContext: {} }];
    default:
      return body['KeyId'] === undefined ? [] : [{ ref: await resolve(body['KeyId']), action: op, encryptionContext: ctx(body['EncryptionContext']) }];
  }
}

function blobKey(s: GatewayState, blob: unknown, caller: Caller): KeyRef | undefined {
  if (typeof blob !== 'string') return undefined;
  // LocalStack's symmetric blob starts with the 36-character key id (see its kms/models.py).
  const keyId = Buffer.from(blob, 'base64').subarray(0, 36).toString('latin1');
  if (!/^([0-9a-f-]{36}|mrk-[0-9a-f]{32})$/.test(keyId)) return undefined;
  const owner = s.keys.ownerArn(keyId, caller.region);
  return keyRefOf(owner ?? `arn:aws:kms:${caller.region}:${caller.account}:key/${keyId}`);
}

/** Rewrites a request where LocalStack would look in the wrong place or store what AWS would not. */
export function upstreamBody(op: string, body: Record<string, unknown>, uses: KeyUse[]): Record<string, unknown> {
  const out = { ...body };
  if (op === 'Decrypt' && out['KeyId'] === undefined && uses[0]) out['KeyId'] = uses[0].ref.arn;
  if ((op === 'PutKeyPolicy' || op === 'CreateKey') && typeof out['Policy'] === 'string') out['Policy'] = storedPolicy(out['Policy']);
  return out;
}

/**
 * AWS stores a bare account principal (`"AWS": "111122223333"`) as the account's root ARN
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts),
 * so GetKeyPolicy reads back `arn:aws:iam::111122223333:root`. The text is left alone when
 * there is nothing to convert.
 */
export function storedPolicy(text: string): string {
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(text) as { Statement?: unknown };
  } catch {
    return text; // refused as malformed before it gets here
  }
  let changed = false;
  const toArn = (p: unknown) => {
    if (typeof p === 'string' && /^\d{12}$/.test(p)) {
      changed = true;
      return `arn:aws:iam::${p}:root`;
    }
    return p;
  };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  for (const st of statements as { Principal?: unknown; NotPrincipal?: unknown }[]) {
    for (const field of ['Principal', 'NotPrincipal'] as const) {
      const block = st?.[field] as Record<string, unknown> | undefined;
      if (block && typeof block === 'object' && block['AWS'] !== undefined) {
        block['AWS'] = Array.isArray(block['AWS']) ? block['AWS'].map(toArn) : toArn(block['AWS']);
      }
    }
  }
  return changed ? JSON.stringify(doc) : text;
}

/** LocalStack answers some bad input with HTTP 500 or with its own texts; give what AWS gives. */
export function awsErrorFor(op: string, status: number, code: string, message: string): KmsError | undefined {
  if (code === 'InvalidCiphertextException') return new KmsError('InvalidCiphertextException');
  if (code === 'ValidationError') return new KmsError('ValidationException', message);
  if (status < 500) return undefined;
  if (/unknown operation/i.test(message)) return new KmsError('UnknownOperationException');
  if (op === 'Decrypt' || op === 'ReEncrypt') return new KmsError('InvalidCiphertextException');
  return new KmsError('ValidationException', `1 validation error detected for ${op}`);
}

