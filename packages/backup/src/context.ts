import type { GraphClientOptions } from '@ekm/graph';
import type { KeyPort, UpdateHooks } from '@ekm/kms';
import type { AccountStore } from './account-store.ts';
import type { KmsCalls } from './counting.ts';
import type { S3Journal } from './journal.ts';
import type { Locks } from './locks.ts';
import type { BackupHooks, SnapshotStore } from './snapshots.ts';

/** What the provider's modules share: one per Provider, built by `Provider.open`. */
export interface ProviderContext {
  /** The provider's 12-digit AWS account: the principal customers' key policies allow (EKM-02). */
  readonly accountId: string;
  readonly regions: readonly string[];
  /** The provider's own Cloud Key Management key. */
  readonly cloudKeyArn: string;
  /** The key port of the console: validation and the moves of tenant keys. */
  readonly port: KeyPort;
  /** The key port of backups, restores and downloads. */
  readonly workflowPort: KeyPort;
  readonly accounts: AccountStore;
  readonly journal: S3Journal;
  readonly store: SnapshotStore;
  readonly locks: Locks;
  readonly clock: () => Date;
  readonly hooks: BackupHooks;
  readonly updateHooks: UpdateHooks;
  readonly graph: Pick<GraphClientOptions, 'sleep' | 'fetch' | 'maxRetries' | 'backoffMs' | 'now'> | undefined;
  /** Ids of the snapshots being written now, whose objects are not orphans. */
  readonly running: Set<string>;
}

export const noCalls = (): KmsCalls => ({ total: 0, byOperation: {} });
