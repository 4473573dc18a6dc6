/**
 * The harness grades AWS answers itself, in its own words: the audit trail's error codes and
 * the customer's own key-administration refusals become failure codes of the domain's table
 * here, never through the provider's classifier (a provider that misreads an error must not
 * grade its own exam).
 */
import { failure, isFailureCode, type Failure, type FailureCode } from '@ekm/domain';

/** AWS KMS exception names (the `errorCode` of a CloudTrail event) and what each means for the key. */
const BY_AWS_CODE: Readonly<Record<string, FailureCode>> = {
  DisabledException: 'KeyDisabled',
  AccessDeniedException: 'KeyAccessDenied',
  NotFoundException: 'KeyNotFound',
  InvalidArnException: 'InvalidKeyArn',
  ValidationException: 'InvalidKeyArn',
  InvalidKeyUsageException: 'UnsupportedKeyUsage',
  UnsupportedOperationException: 'UnsupportedKeySpec',
  InvalidCiphertextException: 'DataTampered',
  IncorrectKeyException: 'DataTampered',
  ThrottlingException: 'KmsThrottled',
  // A quota (e.g. 25 on-demand rotations per key) is not throttling: nothing later makes it pass.
  LimitExceededException: 'KmsQuotaExceeded',
  KMSInternalException: 'KmsUnavailable',
  DependencyTimeoutException: 'KmsUnavailable',
  KeyUnavailableException: 'KmsUnavailable',
};

/** `KMSInvalidStateException` says which state in its message. */
function invalidState(message: string): FailureCode {
  if (/pending\s*(replica\s*)?deletion/i.test(message)) return 'KeyPendingDeletion';
  if (/pending\s*import|key material|expired/i.test(message)) return 'KeyMaterialUnavailable';
  if (/disabled/i.test(message)) return 'KeyDisabled';
  return 'KeyInvalidState';
}

/** The failure code of an AWS error code and message, or the AWS code itself when the table does not know it. */
export function gradeAwsError(code: string, message = ''): string {
  if (code === 'KMSInvalidStateException') return invalidState(message);
  return BY_AWS_CODE[code] ?? code;
}

/** A thrown AWS SDK error (the customer's own call) as a failure a scenario can expect. */
export function awsFailure(error: unknown): Failure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(error);
  const graded = gradeAwsError(name, message);
  if (isFailureCode(graded)) return failure(graded, message);
  // An AWS error this table does not know keeps its AWS code: it is not "unreachable".
  return failure('KmsRefused', `AWS KMS refused the request with ${name}: ${message}`);
}
