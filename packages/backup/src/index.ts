export {
  MemoryBucket,
  S3Bucket,
  createS3Client,
  type Bucket,
  type ByteRange,
  type ListedObject,
  type PutCondition,
  type S3BucketOptions,
  type StoredObject,
} from './bucket.ts';
export { S3Journal } from './journal.ts';
export { countingPort, type KmsCalls } from './counting.ts';
export { PARTS, SnapshotStore, newSnapshotId, type BackupHooks, type BackupWorkflow, type Manifest, type ManifestPart, type Part } from './snapshots.ts';
export { writeZip, type ZipEntry } from './zip.ts';
export { PHASES, type Phase } from './phases.ts';
export { toFailure } from './failure.ts';
export {
  Provider,
  type AccountRecord,
  type AccountView,
  type BackupResult,
  type CommandResult,
  type DownloadResult,
  type EntityRef,
  type ProviderOptions,
  type ReadOptions,
  type RestoreResult,
  type Schedule,
  type TenantCredentials,
  type WorkflowFailed,
} from './provider.ts';
