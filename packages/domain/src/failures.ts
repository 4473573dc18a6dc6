/**
 * Every reason a key-management command or workflow can fail, in one table.
 * `kind` is what callers branch on:
 * - transient:  try again later, nothing is wrong with the customer's key
 * - revocation: the customer (or their key's state) withdrew access; never retried
 * - permanent:  the data or key is gone or corrupt; retrying cannot help
 * - input:      the request itself is wrong; fix the input
 * Codes are stable: scenarios, reports and CI gates refer to them. Add, never rename.
 */
export const FAILURES = {
  // key conditions seen when using the customer's key
  KeyDisabled: { kind: 'revocation', summary: 'the key is disabled' },
  KeyAccessDenied: { kind: 'revocation', summary: "the key policy or grants do not allow the provider's account" },
  KeyPendingDeletion: { kind: 'revocation', summary: 'the key is scheduled for deletion' },
  KeyMaterialUnavailable: { kind: 'revocation', summary: 'the imported key material is deleted or expired' },
  KeyNotFound: { kind: 'input', summary: 'no key with this ARN exists' },
  KeyDeleted: { kind: 'permanent', summary: 'the key was deleted' },
  KeyInvalidState: { kind: 'input', summary: "the key's state does not allow this key operation" },
  // identifiers and key types refused at validation
  InvalidKeyArn: { kind: 'input', summary: 'the key ARN is malformed' },
  AliasNotAccepted: { kind: 'input', summary: 'an alias was given; use the key ARN' },
  UnsupportedKeyLocation: { kind: 'input', summary: 'only AWS KMS keys are supported' },
  UnsupportedKeySpec: { kind: 'input', summary: 'the key is not a symmetric encryption key' },
  UnsupportedKeyUsage: { kind: 'input', summary: 'the key usage is not ENCRYPT_DECRYPT' },
  KeyRegionMismatch: { kind: 'input', summary: 'the key is in a region the provider does not use' },
  // account / console state
  NotActivated: { kind: 'input', summary: 'support has not activated Enterprise Key Management for this account' },
  AlreadyActivated: { kind: 'input', summary: 'support has already activated Enterprise Key Management for this account' },
  NotValidated: { kind: 'input', summary: 'no validated key ARN is awaiting the terms' },
  TermsNotAccepted: { kind: 'input', summary: 'the legal terms were not accepted' },
  AlreadyEnabled: { kind: 'input', summary: 'Enterprise Key Management is already enabled' },
  NotEnabled: { kind: 'input', summary: 'Enterprise Key Management is not enabled' },
  CannotReturnToCloudKms: { kind: 'input', summary: 'an account cannot return to Cloud Key Management' },
  UpdateInProgress: { kind: 'input', summary: 'a key update is already in progress' },
  NoUpdateInProgress: { kind: 'input', summary: 'no key update is in progress' },
  SameKey: { kind: 'input', summary: 'the new key ARN is the key already in force' },
  UpdateNeedsOldKey: { kind: 'revocation', summary: 'the old key must stay usable until the update completes' },
  // the service itself
  KmsThrottled: { kind: 'transient', summary: 'AWS KMS throttled the request' },
  KmsUnavailable: { kind: 'transient', summary: 'AWS KMS could not be reached or failed internally' },
  /** LimitExceededException: a quota of the customer's account or key (e.g. on-demand rotations); retrying cannot help. */
  KmsQuotaExceeded: { kind: 'permanent', summary: 'an AWS KMS quota was reached; retrying does not help until the quota allows it' },
  /** A client-side AWS error the provider does not know: reported with its AWS code, not retried. */
  KmsRefused: { kind: 'permanent', summary: 'AWS KMS refused the request with an error the provider does not know' },
  GraphThrottled: { kind: 'transient', summary: 'Microsoft Graph throttled the request' },
  GraphUnavailable: { kind: 'transient', summary: 'Microsoft Graph could not be reached' },
  GraphRejected: { kind: 'permanent', summary: 'Microsoft Graph refused the request (a 4xx other than throttling)' },
  // data
  DataUnrecoverable: { kind: 'permanent', summary: 'the key protecting this data is destroyed; it cannot be recovered' },
  DataTampered: { kind: 'permanent', summary: 'the data failed its integrity or encryption-context check' },
  SnapshotNotFound: { kind: 'input', summary: 'no complete snapshot with this id' },
} as const satisfies Record<string, { kind: FailureKind; summary: string }>;

export type FailureKind = 'transient' | 'revocation' | 'permanent' | 'input';
export type FailureCode = keyof typeof FAILURES;
export const FAILURE_CODES = Object.keys(FAILURES) as FailureCode[];

/** A typed refusal or failure: a value, never a thrown string. */
export interface Failure<C extends FailureCode = FailureCode> {
  readonly code: C;
  readonly kind: (typeof FAILURES)[C]['kind'];
  /** A sentence the customer understands, saying what to change where possible. */
  readonly message: string;
  /** Where the problem is, e.g. the ARN field (`account`, `resource`) or a key ARN. */
  readonly field?: string;
}

export function failure<C extends FailureCode>(code: C, message?: string, field?: string): Failure<C> {
  const f = { code, kind: FAILURES[code].kind, message: message ?? FAILURES[code].summary } as Failure<C>;
  return field === undefined ? f : { ...f, field };
}

export function isFailureCode(value: unknown): value is FailureCode {
  return typeof value === 'string' && Object.hasOwn(FAILURES, value);
}
