/**
 * `ekm.provider/v1`: everything that crosses between the conformance suite and a provider
 * under test, and nothing else. A scenario drives a provider only through these operations;
 * results cross as failure codes of the domain's one table (the protocol's vocabulary), with a
 * message and the field they point at; views cross as the console view. No provider type,
 * class or storage detail crosses: a provider in any language can implement it over HTTP.
 */
import type { FailureCode } from '@ekm/domain';

export const PROTOCOL = 'ekm.provider/v1';

/**
 * What a provider may declare beyond the required operations. A scenario that needs a
 * capability the provider does not declare is reported not-applicable, never failed.
 */
export const CAPABILITIES = {
  'store.tamper': 'changes a stored snapshot as an attacker with write access to the store would (EKM-20 scenarios)',
  'update.inProgress': 'leaves a key update in progress (updateKey with complete: false), finished later by completeUpdate',
  'workflow.pause': 'holds a workflow or a key update at a pause point until the harness resumes it, so other steps run in between',
  'provider.crash': 'dies at a pause point (nothing after it runs, the call in flight never answers) and restarts on the same storage',
} as const;
export type Capability = keyof typeof CAPABILITIES;
export const CAPABILITY_NAMES = Object.keys(CAPABILITIES) as Capability[];

/**
 * Where a running workflow or key update can be held (`workflow.pause`) or killed
 * (`provider.crash`). Each is a moment every provider has, whatever its design: after the
 * tenant key is unwrapped, after the data is written, after the snapshot is committed; before
 * and after a tenant key is wrapped under the new customer key, and after the switch.
 */
export const PAUSE_POINTS = {
  'backup.keyUnwrapped': 'a backup has its tenant key in plaintext and has written nothing',
  'backup.dataWritten': 'a backup has written every part of its snapshot and not committed it',
  'backup.committed': 'a backup has committed its snapshot and not answered yet',
  'update.beforeRewrap': 'a key update (or enabling) has moved no tenant key yet',
  'update.rewrapped': 'a key update has wrapped a tenant key under the new key; the old wrapping is still in force',
  'update.committed': 'a key update has put the new wrapping in force and not answered yet',
} as const;
export type PausePoint = keyof typeof PAUSE_POINTS;
export const PAUSE_POINT_NAMES = Object.keys(PAUSE_POINTS) as PausePoint[];

export interface ProviderInfo {
  readonly protocol: typeof PROTOCOL;
  readonly name: string;
  readonly version: string;
  readonly capabilities: readonly Capability[];
}

/** What the harness gives a provider when it opens a session: where everything is, and the time. */
export interface Environment {
  /** The provider's 12-digit AWS account: the principal customers' key policies allow (EKM-02). */
  readonly accountId: string;
  readonly region: string;
  /** AWS KMS (the harness's gateway), signed with these credentials. */
  readonly kms: { readonly endpoint: string; readonly credentials: Credentials };
  /** S3 with the one bucket the provider may store in (the harness created it and empties it at the end). */
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly credentials: Credentials };
  /**
   * Microsoft Graph v1.0 and the Microsoft identity platform, served for the scenario's tenants.
   * `https://graph.microsoft.com` and `https://login.microsoftonline.com` requests go to
   * `${endpoint}/graph.microsoft.com/...` and `${endpoint}/login.microsoftonline.com/...`.
   */
  readonly graph: { readonly endpoint: string };
  /**
   * The harness's clock. Deletion windows and schedules run on it; over HTTP every request
   * carries the time as `now`, so the provider never reads its own clock.
   */
  readonly now: () => Date;
}

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface ProtocolFailure {
  readonly code: FailureCode;
  readonly message: string;
  /** The input field the failure points at, e.g. `keyArn` or `keyArn.region`. */
  readonly field?: string;
}

export type Outcome<T extends object = object> =
  | ({ readonly ok: true; readonly message?: string } & T)
  | { readonly ok: false; readonly failure: ProtocolFailure; readonly findings?: readonly ProtocolFailure[] };

/** The Key Management tab as the customer sees it. */
export interface ConsoleView {
  /** Whether the EKM section is offered at all (EKM-01). */
  readonly ekmSection: boolean;
  /** The provider's account id shown in the section (EKM-02), when it is shown. */
  readonly providerAccountId?: string;
  readonly keyArn?: string;
  readonly externalKeyManagement: 'Enabled' | 'Disabled';
  readonly cloudKeyManagement: 'Enabled' | 'Disabled';
  readonly updateInProgress: boolean;
  /** Snapshots that can no longer be restored because the key protecting them was destroyed (EKM-21). */
  readonly unrecoverableSnapshots?: readonly string[];
}

export interface TenantCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export const ENTITY_KINDS = [
  'users',
  'groups',
  'applications',
  'servicePrincipals',
  'devices',
  'administrativeUnits',
  'directoryRoles',
  'conditionalAccessPolicies',
] as const;
export interface EntityRef {
  readonly kind: string;
  readonly id: string;
}

export interface SnapshotInfo {
  readonly id: string;
  readonly tenantId: string;
  readonly takenAt: string;
}

export type TamperMode = 'flipByte' | 'truncate' | 'otherSnapshot' | 'restore';

/**
 * One provider, opened on one environment (a scenario's world). `account` is the product
 * account the customer signs in to; the harness picks it.
 */
export interface ProviderSession {
  // support
  activate(account: string): Promise<Outcome>;
  // console
  view(account: string): Promise<ConsoleView>;
  submitKey(account: string, arn: string): Promise<Outcome>;
  showTerms(account: string): Promise<Outcome>;
  acceptTerms(account: string): Promise<Outcome>;
  declineTerms(account: string): Promise<Outcome>;
  /** Closing the dialog before answering the terms. */
  abandon(account: string): Promise<Outcome>;
  /** With `complete: false` the update stays in progress (capability `update.inProgress`). */
  updateKey(account: string, arn: string, options?: { readonly complete?: boolean }): Promise<Outcome>;
  completeUpdate(account: string): Promise<Outcome>;
  returnToCloudKms(account: string): Promise<Outcome>;
  // tenants
  /** Connects a tenant; the first call for an account creates it, with backups due every `scheduleEveryMs` from now. */
  connectTenant(account: string, tenant: TenantCredentials, options?: { readonly scheduleEveryMs?: number }): Promise<Outcome>;
  // workflows
  /** Runs every scheduled backup due at `at` (the harness's time). */
  runScheduled(account: string, at: Date): Promise<readonly Outcome<{ readonly snapshot: string }>[]>;
  backup(account: string, options?: { readonly tenantId?: string }): Promise<Outcome<{ readonly snapshot: string }>>;
  restore(
    account: string,
    options?: { readonly snapshot?: string; readonly entities?: readonly EntityRef[]; readonly tenantId?: string },
  ): Promise<Outcome<{ readonly snapshot: string }>>;
  /** The download's bytes: a zip the harness reads itself. */
  download(
    account: string,
    options?: { readonly snapshot?: string; readonly tenantId?: string },
  ): Promise<Outcome<{ readonly snapshot: string; readonly zip: Uint8Array }>>;
  // snapshots
  /** Complete snapshots, oldest first. */
  snapshots(account: string, options?: { readonly tenantId?: string }): Promise<readonly SnapshotInfo[]>;
  // capabilities
  tamper?(account: string, snapshot: string, mode: TamperMode): Promise<Outcome>;
  /** `workflow.pause`: the next time the account's work reaches `point`, it waits there until `resume`. */
  pause?(account: string, point: PausePoint): Promise<Outcome>;
  /** `workflow.pause`: answers once the account's work is held at `point` (a failure after `timeoutMs` if it is not). */
  paused?(account: string, point: PausePoint, timeoutMs: number): Promise<Outcome>;
  resume?(account: string, point: PausePoint): Promise<Outcome>;
  /**
   * `provider.crash`: the next time the account's work reaches `point`, the provider dies there.
   * Nothing after the point runs; the call in flight rejects (over HTTP: answers 500
   * `ProviderError`). Until `restart` the session answers nothing.
   */
  crash?(account: string, point: PausePoint): Promise<Outcome>;
  /** `provider.crash`: starts the provider again on the same storage (the bucket, the KMS keys); the session stays open. */
  restart?(): Promise<Outcome>;
  close(): Promise<void>;
}

/** A provider implementation: what it is, and how to open it on an environment. */
export interface ProviderBinding {
  readonly info: ProviderInfo;
  open(environment: Environment): Promise<ProviderSession>;
  /** Frees what the binding holds across sessions (connections, a child process). */
  close?(): Promise<void>;
}

/** The operations of a session that the HTTP binding carries, each `POST /v1/sessions/{id}/{operation}`. */
export const OPERATIONS = [
  'activate',
  'view',
  'submitKey',
  'showTerms',
  'acceptTerms',
  'declineTerms',
  'abandon',
  'updateKey',
  'completeUpdate',
  'returnToCloudKms',
  'connectTenant',
  'runScheduled',
  'backup',
  'restore',
  'download',
  'snapshots',
  'tamper',
  'pause',
  'paused',
  'resume',
  'crash',
  'restart',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Operations only a provider declaring the capability offers. */
export const OPERATION_CAPABILITY: Partial<Record<Operation, Capability>> = {
  tamper: 'store.tamper',
  pause: 'workflow.pause',
  paused: 'workflow.pause',
  resume: 'workflow.pause',
  crash: 'provider.crash',
  restart: 'provider.crash',
};
