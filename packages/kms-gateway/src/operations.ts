/**
 * Facts about KMS operations, in one table, as the AWS API Reference states them for each
 * operation (https://docs.aws.amazon.com/kms/latest/APIReference/API_Operations.html):
 * - `crossAccount`: "Cross-account use: Yes" (with the key policy's consent);
 * - `readOnly`: changes nothing (CloudTrail's `readOnly`; the gateway keeps its caches);
 * - `needsMaterial`: a cryptographic call AWS refuses while imported material is missing;
 * - `context`: takes an EncryptionContext, so grant constraints apply to it
 *   (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html);
 * - `dataKey`: a GenerateDataKey* call (symmetric encryption keys only);
 * - `required`: members AWS refuses as null.
 */
export interface OperationFacts {
  crossAccount?: true;
  readOnly?: true;
  needsMaterial?: true;
  context?: true;
  dataKey?: true;
  required?: readonly string[];
}

const CRYPTO = { crossAccount: true, readOnly: true, needsMaterial: true } as const;

export const OPERATIONS: Readonly<Record<string, OperationFacts>> = {
  Encrypt: { ...CRYPTO, context: true, required: ['KeyId', 'Plaintext'] },
  Decrypt: { ...CRYPTO, context: true, required: ['CiphertextBlob'] },
  ReEncrypt: { ...CRYPTO, context: true, required: ['CiphertextBlob', 'DestinationKeyId'] },
  GenerateDataKey: { ...CRYPTO, context: true, dataKey: true, required: ['KeyId'] },
  GenerateDataKeyWithoutPlaintext: { ...CRYPTO, context: true, dataKey: true, required: ['KeyId'] },
  GenerateDataKeyPair: { ...CRYPTO, context: true, dataKey: true, required: ['KeyId', 'KeyPairSpec'] },
  GenerateDataKeyPairWithoutPlaintext: { ...CRYPTO, context: true, dataKey: true, required: ['KeyId', 'KeyPairSpec'] },
  GenerateMac: { ...CRYPTO, required: ['KeyId', 'Message', 'MacAlgorithm'] },
  VerifyMac: { ...CRYPTO, required: ['KeyId', 'Message', 'Mac', 'MacAlgorithm'] },
  Sign: { ...CRYPTO, required: ['KeyId', 'Message', 'SigningAlgorithm'] },
  Verify: { ...CRYPTO, required: ['KeyId', 'Message', 'Signature', 'SigningAlgorithm'] },
  DeriveSharedSecret: { crossAccount: true, readOnly: true, required: ['KeyId', 'KeyAgreementAlgorithm', 'PublicKey'] },
  GetPublicKey: { crossAccount: true, readOnly: true, required: ['KeyId'] },
  DescribeKey: { crossAccount: true, readOnly: true, required: ['KeyId'] },
  GetKeyRotationStatus: { crossAccount: true, readOnly: true, required: ['KeyId'] },
  ListGrants: { crossAccount: true, readOnly: true, required: ['KeyId'] },
  CreateGrant: { crossAccount: true, required: ['KeyId', 'GranteePrincipal', 'Operations'] },
  RetireGrant: { crossAccount: true },
  RevokeGrant: { crossAccount: true, required: ['KeyId', 'GrantId'] },
  GenerateRandom: { readOnly: true },
  GetKeyPolicy: { readOnly: true, required: ['KeyId'] },
  GetParametersForImport: { readOnly: true, required: ['KeyId', 'WrappingAlgorithm', 'WrappingKeySpec'] },
  ListAliases: { readOnly: true },
  ListKeyPolicies: { readOnly: true, required: ['KeyId'] },
  ListKeyRotations: { readOnly: true, required: ['KeyId'] },
  ListKeys: { readOnly: true },
  ListResourceTags: { readOnly: true, required: ['KeyId'] },
  ListRetirableGrants: { readOnly: true, required: ['RetiringPrincipal'] },
  CreateKey: {},
  EnableKey: { required: ['KeyId'] },
  DisableKey: { required: ['KeyId'] },
  ScheduleKeyDeletion: { required: ['KeyId'] },
  CancelKeyDeletion: { required: ['KeyId'] },
  PutKeyPolicy: { required: ['KeyId', 'Policy'] },
  ImportKeyMaterial: { required: ['KeyId', 'ImportToken', 'EncryptedKeyMaterial'] },
  DeleteImportedKeyMaterial: { required: ['KeyId'] },
  EnableKeyRotation: { required: ['KeyId'] },
  DisableKeyRotation: { required: ['KeyId'] },
  RotateKeyOnDemand: { required: ['KeyId'] },
  CreateAlias: { required: ['AliasName', 'TargetKeyId'] },
  UpdateAlias: { required: ['AliasName', 'TargetKeyId'] },
  DeleteAlias: { required: ['AliasName'] },
  ReplicateKey: { required: ['KeyId', 'ReplicaRegion'] },
  UpdatePrimaryRegion: { required: ['KeyId', 'PrimaryRegion'] },
  TagResource: { required: ['KeyId', 'Tags'] },
  UntagResource: { required: ['KeyId', 'TagKeys'] },
  UpdateKeyDescription: { required: ['KeyId', 'Description'] },
};

export function factsOf(op: string): OperationFacts {
  return OPERATIONS[op] ?? {};
}
