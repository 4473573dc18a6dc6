import { failure, type Failure } from '@ekm/domain';
import { GraphError } from '@ekm/graph';
import { ProviderFailure, toFailure as carried } from '@ekm/kms';

/**
 * The provider's one normalising boundary: the Failure an error stands for, or undefined for
 * an unexpected error (a storage outage, an injected crash, a bug), which must be let through.
 */
export function toFailure(error: unknown): Failure | undefined {
  return carried(error, (e) => (e instanceof GraphError ? failure('GraphRejected', `Microsoft Graph refused a call: ${e.message}`) : undefined));
}

/** The failure a key refused with, and what caused it when the key was wrapped in another failure (UpdateNeedsOldKey). */
export function keyFailureOf(error: unknown): { failure: Failure; cause?: Failure } | undefined {
  if (!(error instanceof ProviderFailure)) return undefined;
  const cause = error.cause instanceof ProviderFailure ? error.cause.failure : undefined;
  return { failure: error.failure, ...(cause === undefined ? {} : { cause }) };
}

/** What the customer's key controls, or a fault of KMS that keeps its own words (EKM-12, EKM-13). */
const KEY_SAYS = new Set<Failure['code']>([
  'KeyDisabled',
  'KeyAccessDenied',
  'KeyPendingDeletion',
  'KeyMaterialUnavailable',
  'KmsThrottled',
  'KmsUnavailable',
  'KmsQuotaExceeded',
  'KmsRefused',
  'DataTampered',
]);

/**
 * How a failure of the customer's key is reported: revocations and KMS faults as KMS said; a
 * destroyed key as destroyed, and for a read as data that cannot be recovered (EKM-18); anything
 * else KMS answered with as KMS being unavailable for this use.
 */
export function keyVerdict(observed: Failure, use: 'read' | 'write'): Failure {
  if (KEY_SAYS.has(observed.code)) return observed;
  if (observed.code === 'KeyDeleted' || observed.code === 'KeyNotFound') {
    if (use === 'read') return failure('DataUnrecoverable', `${observed.message} The backup it protected cannot be recovered.`, observed.field);
    return observed.code === 'KeyDeleted' ? observed : failure('KeyDeleted', observed.message, observed.field);
  }
  return failure('KmsUnavailable', observed.message, observed.field);
}

/** Which finding of a validation leads its refusal: what the customer must fix first. */
const LEAD: readonly Failure['code'][] = [
  'KeyRegionMismatch',
  'KmsThrottled',
  'KmsUnavailable',
  'KeyNotFound',
  'KeyAccessDenied',
  'KeyPendingDeletion',
  'KeyDisabled',
  'KeyMaterialUnavailable',
  'UnsupportedKeySpec',
  'UnsupportedKeyUsage',
];

export function leadFinding(findings: readonly Failure[]): Failure['code'] | undefined {
  return LEAD.find((code) => findings.some((f) => f.code === code)) ?? findings[0]?.code;
}
