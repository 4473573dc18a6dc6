export { ProviderFailure, toFailure } from './failure-error.ts';
export { parseKeyArn, type ArnParse, type KeyArn } from './arn.ts';
export { classify, type CallContext } from './classify.ts';
export type { EncryptionContext, KeyDescription, KeyPort } from './port.ts';
export { createKmsClient, kmsPort, MAX_ATTEMPTS, type AwsCredentials, type KmsClientOptions } from './adapter.ts';
export { refusalOf, validateKey, VALIDATION_PURPOSE, type Validation, type ValidateOptions } from './validate.ts';
export { TenantKey } from './tenant-key.ts';
export {
  MemoryJournal,
  TENANT_KEY_PURPOSE,
  TenantKeys,
  tenantKeyContext,
  unwrapTenantKey,
  type LostTenantKey,
  type TenantKeyEntry,
  type RewrapPoint,
  type TenantKeyJournal,
  type UpdateHooks,
  type WrappedTenantKey,
} from './hierarchy.ts';
export {
  decryptSnapshot,
  decryptSnapshotStream,
  encryptSnapshot,
  encryptSnapshotStream,
  SNAPSHOT_FRAME_LENGTH,
  SNAPSHOT_PURPOSE,
  SNAPSHOT_SUITE,
  snapshotContext,
  type SnapshotContext,
} from './snapshot.ts';
export { withKeyObserver, type KeyMaterialKind, type KeyMaterialObserver } from './observe.ts';
