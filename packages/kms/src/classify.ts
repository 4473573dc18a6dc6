import { failure, type Failure } from '@ekm/domain';
import { ProviderFailure } from './failure-error.ts';

/** What was being attempted, so the sentence can name the operation, key and account. */
export interface CallContext {
  /** KMS operation without the `kms:` prefix, e.g. `Decrypt`. */
  readonly operation?: string;
  readonly keyArn?: string;
  /** The provider's account: the principal the customer's key policy must allow (EKM-02). */
  readonly account?: string;
  /**
   * The key was known to exist (it protects data): a NotFoundException then means it
   * was deleted (permanent, EKM-18) rather than mistyped (input).
   */
  readonly keyKnown?: boolean;
  /**
   * The failure came from decrypting this snapshot locally with the Encryption SDK, not
   * from KMS: authentication, key commitment, keyring or context failed (EKM-20).
   */
  readonly snapshot?: { readonly tenant: string; readonly snapshot: string };
}

// Request-rate errors only. LimitExceededException is a quota (keys, grants, on-demand rotations), not a rate: see below.
const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown']);
/** AWS's quota errors: retrying cannot help until the quota allows the call (KmsQuotaExceeded, permanent). */
export const QUOTA_ERRORS: ReadonlySet<string> = new Set(['LimitExceededException']);
const UNAVAILABLE = new Set([
  'KeyUnavailableException',
  'DependencyTimeoutException',
  'KMSInternalException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Turns anything thrown by the AWS SDK (or the network under it, or the Encryption SDK
 * when `ctx.snapshot` is given) into a domain Failure,
 * keeping the kind: transient (retry later), revocation (the customer withdrew access;
 * never retried), permanent, input. This is the only place SDK error names are read.
 */
export function classify(error: unknown, ctx: CallContext = {}): Failure {
  if (error instanceof ProviderFailure) return error.failure;
  if (ctx.snapshot !== undefined) {
    const { tenant, snapshot } = ctx.snapshot;
    return failure('DataTampered', `Snapshot ${snapshot} of tenant ${tenant} failed its integrity check and was refused.`);
  }
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown; attempts?: unknown };
    $response?: { statusCode?: unknown };
  };
  const name = typeof e.name === 'string' ? e.name : '';
  const text = typeof e.message === 'string' ? e.message : '';
  const status = numberOr(e.$metadata?.httpStatusCode, numberOr(e.$response?.statusCode, undefined));
  const op = ctx.operation === undefined ? 'use' : `use kms:${ctx.operation}`;
  const key = ctx.keyArn === undefined ? 'the key' : `the key ${ctx.keyArn}`;
  const who = ctx.account === undefined ? "the provider's account" : `account ${ctx.account}`;

  const attempts = numberOr(e.$metadata?.attempts, 1);
  const tried = attempts > 1 ? ` (${attempts} attempts)` : '';
  switch (name) {
    case 'LimitExceededException':
      return failure(
        'KmsQuotaExceeded',
        `AWS KMS refused kms:${ctx.operation ?? 'request'} for ${key}: a quota of the key or its account is reached (LimitExceededException${text === '' ? '' : `: ${text}`}). Trying again does not help until the quota allows it.`,
        ctx.keyArn,
      );
    case 'DisabledException':
      return failure('KeyDisabled', `${cap(key)} is disabled; enable it in AWS KMS to restore access.`, ctx.keyArn);
    case 'AccessDeniedException':
    case 'AccessDenied':
      return failure('KeyAccessDenied', `The key policy or grants of ${key} do not allow ${who} to ${op}.`, ctx.keyArn);
    case 'KMSInvalidStateException':
      return invalidState(text, key, ctx.keyArn);
    case 'NotFoundException':
      return ctx.keyKnown === true
        ? failure('KeyDeleted', `${cap(key)} no longer exists; data protected only by it cannot be recovered.`, ctx.keyArn)
        : failure('KeyNotFound', `${cap(key)} does not exist in that account and Region; check the key ARN.`, ctx.keyArn);
    case 'InvalidArnException':
    case 'ValidationException':
      return failure('InvalidKeyArn', `AWS KMS refused the key identifier: ${text || 'malformed ARN'}.`, ctx.keyArn);
    case 'InvalidKeyUsageException':
      return failure('UnsupportedKeyUsage', `${cap(key)} cannot be used to ${op}; it must be a symmetric ENCRYPT_DECRYPT key.`, ctx.keyArn);
    case 'UnsupportedOperationException':
      return failure(
        'UnsupportedKeySpec',
        `${cap(key)} does not support kms:${ctx.operation ?? 'this operation'}; it must be a symmetric encryption key.`,
        ctx.keyArn,
      );
    case 'InvalidCiphertextException':
    case 'IncorrectKeyException':
      // Wrong tenant or purpose in the encryption context, wrong key, or altered bytes: KMS cannot tell which.
      return failure('DataTampered', `AWS KMS refused the ciphertext for ${key}: it was altered or belongs to another tenant or purpose.`, ctx.keyArn);
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
      return failure('KmsUnavailable', `AWS KMS did not accept the provider's credentials (${name}).`);
  }
  // The SDK has already retried what it retries; nothing retries after this, so the sentence says "try again".
  if (THROTTLING.has(name) || status === 429) {
    return failure('KmsThrottled', `AWS KMS throttled kms:${ctx.operation ?? 'request'}${tried}; try again in a few minutes.`);
  }
  const code = typeof e.code === 'string' ? e.code : '';
  const label = code || (name === 'Error' ? '' : name) || String(status ?? 'unknown error');
  if (NETWORK.has(code)) {
    return failure('KmsUnavailable', `AWS KMS could not be reached (${code})${tried}; try again in a few minutes.`);
  }
  if (UNAVAILABLE.has(name) || e.$fault === 'server' || (status !== undefined && status >= 500)) {
    return failure('KmsUnavailable', `AWS KMS could not complete kms:${ctx.operation ?? 'request'} (${label})${tried}; try again in a few minutes.`);
  }
  const answered = e.$metadata !== undefined || e.$fault === 'client' || awsErrorCode(name) || (!(error instanceof Error) && name !== '');
  if (!answered) {
    // No AWS error code: the request never got an answer (socket, DNS, abort).
    return failure('KmsUnavailable', `AWS KMS could not be reached (${label}); try again in a few minutes.`);
  }
  // An AWS error this classifier does not know: KMS answered, so it was reached. Said with its
  // own code, and not retried: nothing says trying again would help.
  return failure(
    'KmsRefused',
    `AWS KMS refused kms:${ctx.operation ?? 'request'}${ctx.keyArn === undefined ? '' : ` for ${key}`} with ${name || label}${text === '' ? '' : `: ${text}`}.`,
    ctx.keyArn,
  );
}

/** Looks like an error code AWS answered with (e.g. `KMSFooException`), not a Node error or a bare `Error`. */
function awsErrorCode(name: string): boolean {
  return (
    /^[A-Z][A-Za-z0-9]*(Exception|Error|Fault|Denied|Failure)$/.test(name) &&
    name !== 'Error' &&
    !/^(Type|Range|Syntax|Reference|Abort|Timeout)Error$/.test(name)
  );
}

function invalidState(text: string, key: string, keyArn: string | undefined): Failure {
  if (/pending\s*deletion/i.test(text) || /PendingReplicaDeletion/i.test(text)) {
    return failure('KeyPendingDeletion', `${cap(key)} is scheduled for deletion; cancel the deletion in AWS KMS to restore access.`, keyArn);
  }
  if (/pending\s*import|PendingImport|key material|expired/i.test(text)) {
    return failure(
      'KeyMaterialUnavailable',
      `The imported key material of ${key} is deleted or expired; re-import the same material to restore access.`,
      keyArn,
    );
  }
  if (/disabled/i.test(text)) {
    return failure('KeyDisabled', `${cap(key)} is disabled; enable it in AWS KMS to restore access.`, keyArn);
  }
  if (/unavailable|creating|updating/i.test(text)) {
    return failure('KmsUnavailable', `${cap(key)} is temporarily unavailable (${text}).`, keyArn);
  }
  return failure('KeyDisabled', `${cap(key)} is not in a usable state (${text}).`, keyArn);
}

function numberOr<T>(v: unknown, fallback: T): number | T {
  return typeof v === 'number' ? v : fallback;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
