/**
 * The KMS JSON-protocol errors the gateway itself answers with, in one table: the HTTP
 * status is what AWS sends, so the SDK classifies each one as it would against AWS
 * (ThrottlingException by code, 500/503 as transient, the rest as client faults).
 */
export const KMS_ERRORS = {
  AccessDeniedException: 400,
  NotFoundException: 400,
  DisabledException: 400,
  KMSInvalidStateException: 400,
  InvalidCiphertextException: 400,
  IncorrectKeyException: 400,
  InvalidKeyUsageException: 400,
  InvalidGrantTokenException: 400,
  MalformedPolicyDocumentException: 400,
  ValidationException: 400,
  UnknownOperationException: 400,
  UnsupportedOperationException: 400,
  ThrottlingException: 400,
  LimitExceededException: 400,
  InvalidMarkerException: 400,
  IncorrectKeyMaterialException: 400,
  InvalidImportTokenException: 400,
  ExpiredImportTokenException: 400,
  UnrecognizedClientException: 400,
  MissingAuthenticationTokenException: 403,
  KMSInternalException: 500,
  DependencyTimeoutException: 503,
} as const;

export type KmsErrorCode = keyof typeof KMS_ERRORS;

/** An AWS exception as the SDK names it: `name` is the AWS code, `$fault` says whose fault it is. */
export class KmsError extends Error {
  override readonly name: KmsErrorCode;
  readonly status: number;
  readonly $fault: 'client' | 'server';
  constructor(
    readonly code: KmsErrorCode,
    message = '',
  ) {
    super(message);
    this.name = code;
    this.status = KMS_ERRORS[code];
    this.$fault = this.status >= 500 ? 'server' : 'client';
  }

  /** The body AWS sends; an empty message is left out, as AWS does for InvalidCiphertextException. */
  body(): string {
    return JSON.stringify(this.message === '' ? { __type: this.code } : { __type: this.code, message: this.message });
  }
}

export function isKmsErrorCode(value: unknown): value is KmsErrorCode {
  return typeof value === 'string' && Object.hasOwn(KMS_ERRORS, value);
}

/** The one place unknown throwables become typed errors: anything unexpected is an internal failure. */
export function toKmsError(error: unknown): KmsError {
  if (error instanceof KmsError) return error;
  return new KmsError('KMSInternalException', 'The request was rejected because an internal exception occurred.');
}

/**
 * The one parser of AWS JSON error bodies (`{"__type": "ns#Code", "message": ...}`), for
 * LocalStack's answers: the code without its namespace, the message under either spelling.
 */
export function parseAwsError(body: string): { code: string; message: string } {
  let parsed: Record<string, unknown> = {};
  try {
    parsed = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
  } catch {
    // not JSON: no code to read
  }
  const code = String(parsed['__type'] ?? parsed['code'] ?? '').split('#').pop() ?? '';
  return { code, message: String(parsed['message'] ?? parsed['Message'] ?? '') };
}

export const messages = {
  disabled: (arn: string) => `${arn} is disabled.`,
  pendingDeletion: (arn: string) => `${arn} is pending deletion.`,
  pendingImport: (arn: string) => `${arn} is pending import.`,
  notFound: (arn: string) => `Key '${arn}' does not exist`,
  invalidKeyId: (id: string) => `Invalid keyId '${id}'`,
  invalidArnRegion: (region: string) => `Invalid arn ${region}`,
  incorrectKey: () => 'The key ID in the request does not identify a CMK that can perform this operation.',
  wrongKeyUsage: (arn: string, usage: string, op: string) => `${arn} key usage is ${usage} which is not valid for ${op}.`,
  wrongAlgorithm: (arn: string, spec: string, algorithm: string) =>
    `${arn} key spec is ${spec} which does not support encryption algorithm ${algorithm}.`,
  accessDenied: (principal: string, op: string, arn: string, explicit: boolean) =>
    explicit
      ? `User: ${principal} is not authorized to perform: kms:${op} on resource: ${arn} with an explicit deny in a resource-based policy`
      : `User: ${principal} is not authorized to perform: kms:${op} on resource: ${arn} because no resource-based policy allows the kms:${op} action`,
  crossAccount: (principal: string, op: string, arn: string) =>
    `User: ${principal} is not authorized to perform: kms:${op} on resource: ${arn} because kms:${op} cannot be used on a KMS key in another AWS account`,
  wrongOrigin: (arn: string, origin: string) => `${arn} origin is ${origin} which is not valid for this operation.`,
  lockout: () => 'The new key policy will not allow you to update the key policy in the future.',
  throttled: () => 'Rate exceeded',
  aliasNotFound: (aliasArn: string) => `Alias ${aliasArn} is not found.`,
  unrecognizedClient: () => 'The security token included in the request is invalid.',
  missingAuthentication: () => 'Missing Authentication Token',
  incorrectKeyMaterial: () =>
    'The key material in the request is, expired, invalid, or is not the same key material that was previously imported into this KMS key.',
  invalidImportToken: () => 'The provided import token is invalid or is associated with a different KMS key.',
  expiredImportToken: () =>
    'The specified import token is expired. Use GetParametersForImport to get a new import token and public key, use the new public key to encrypt the key material, and then try the request again.',
  rotationLimit: (arn: string) =>
    `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${arn}`,
  invalidMarker: () => 'Invalid marker',
  retireDenied: (principal: string, grantId: string) =>
    `User: ${principal} is not authorized to perform: kms:RetireGrant on grant ${grantId}: only its retiring principal, its grantee (when the grant allows RetireGrant) and the key's account can retire it`,
  internal: () => 'The request was rejected because an internal exception occurred. The request can be retried.',
  dependencyTimeout: () => 'The system timed out while trying to fulfill the request. The request can be retried.',
} as const;
