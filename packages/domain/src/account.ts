import { parseKeyArn } from './arn.ts';
import { failure, type Failure, type FailureCode } from './failures.ts';
import {
  conditionFailure,
  decideKey,
  KEY_COMMAND_TYPES,
  KEY_TRANSITIONS,
  keyCondition,
  newKey,
  type KeyCommand,
  type KeyCondition,
  type KeyFacts,
  type KeyShape,
} from './key.ts';

/**
 * The account's key-management phases. Cloud Key Management is in force in the first four,
 * Enterprise Key Management in the last two; nothing leads from the last two back (EKM-09).
 */
export const STATES = ['notActivated', 'cloudKms', 'arnValidated', 'termsShown', 'ekmEnabled', 'updating'] as const;
export type Phase = (typeof STATES)[number];

const EKM_PHASES: readonly Phase[] = ['ekmEnabled', 'updating'];
export function ekmInForce(phase: Phase): boolean {
  return EKM_PHASES.includes(phase);
}

/** The provider's own Cloud KMS key, which protects data until EKM is enabled. */
export const CLOUD_KEY = 'cloud';
/** A key that can protect the tenant key: the provider's cloud key or a customer key ARN. */
export type KeyRef = string;

export const WORKFLOWS = ['scheduledBackup', 'manualBackup', 'restore', 'download'] as const;
export type Workflow = (typeof WORKFLOWS)[number];
export type BackupWorkflow = 'scheduledBackup' | 'manualBackup';

export interface Snapshot {
  readonly id: string;
  readonly workflow: BackupWorkflow;
  /** Keys under which this snapshot's tenant key is stored: reading it needs one of them. */
  readonly protectedBy: readonly KeyRef[];
}

export interface AccountState {
  readonly phase: Phase;
  readonly tenantId: string;
  /** The provider's 12-digit AWS account, the principal the customer's key policy must allow (EKM-02). */
  readonly providerAccountId: string;
  /** Regions the provider uses; a key elsewhere is refused. Empty: any region. */
  readonly regions: readonly string[];
  /** The customer key in force; set exactly when EKM is in force. */
  readonly activeArn?: string;
  /** The validated ARN awaiting the terms, or the new ARN while an update is in progress. */
  readonly pendingArn?: string;
  readonly snapshots: readonly Snapshot[];
  readonly snapshotCount: number;
  /** The customer's keys as the provider's account meets them; changed only by key commands. */
  readonly keys: Readonly<Record<string, KeyFacts>>;
}

export interface AccountOptions {
  readonly tenantId?: string;
  readonly providerAccountId?: string;
  readonly regions?: readonly string[];
  /** Support has already activated EKM for the account (EKM-01). */
  readonly activated?: boolean;
  readonly keys?: Readonly<Record<string, Partial<KeyShape> | KeyFacts>>;
}

export function initialAccount(options: AccountOptions = {}): AccountState {
  const providerAccountId = options.providerAccountId ?? '111122223333';
  if (!/^\d{12}$/.test(providerAccountId)) {
    throw new RangeError(`providerAccountId must be 12 digits, got "${providerAccountId}"`);
  }
  const keys: Record<string, KeyFacts> = {};
  for (const [arn, k] of Object.entries(options.keys ?? {})) keys[arn] = 'lifecycle' in k ? (k as KeyFacts) : newKey(k);
  return {
    phase: options.activated === true ? 'cloudKms' : 'notActivated',
    tenantId: options.tenantId ?? 'tenant-1',
    providerAccountId,
    regions: options.regions ?? [],
    snapshots: [],
    snapshotCount: 0,
    keys,
  };
}

export type AccountCommand =
  | { readonly type: 'activate' }
  | { readonly type: 'submitArn'; readonly input: string }
  | { readonly type: 'showTerms' }
  | { readonly type: 'acceptTerms' }
  /** Declining the terms, or abandoning the dialog before they are shown. */
  | { readonly type: 'declineTerms' }
  | { readonly type: 'updateKey'; readonly input: string }
  /** The rewrap from the old key to the new one, which ends the update one way or the other. */
  | { readonly type: 'completeUpdate' }
  | { readonly type: 'returnToCloudKms' }
  /** `snapshotId` names the new snapshot, e.g. with the provider's own id; default `snap-<n>`. */
  | { readonly type: BackupWorkflow; readonly snapshotId?: string }
  /** Without `snapshotId`, the latest snapshot. */
  | { readonly type: 'restore' | 'download'; readonly snapshotId?: string };

export type Command = AccountCommand | KeyCommand;
export type AccountCommandType = AccountCommand['type'];

export const ACCOUNT_COMMAND_TYPES: readonly AccountCommandType[] = [
  'activate', 'submitArn', 'showTerms', 'acceptTerms', 'declineTerms', 'updateKey', 'completeUpdate', 'returnToCloudKms',
  ...WORKFLOWS,
];

const KEY_COMMANDS: ReadonlySet<string> = new Set(KEY_COMMAND_TYPES);
export function isKeyCommand(command: Command): command is KeyCommand {
  return KEY_COMMANDS.has(command.type);
}

/** The encryption context of every KMS call on the tenant key (EKM-20). */
export interface EncryptionContext {
  readonly tenant: string;
  readonly purpose: 'tenant-key';
}

export type KeyOperation = 'Encrypt' | 'Decrypt';

export type AccountEvent =
  | { readonly type: 'activated' }
  | { readonly type: 'arnValidated'; readonly arn: string }
  | { readonly type: 'arnRejected'; readonly failure: Failure }
  | { readonly type: 'termsShown'; readonly arn: string }
  | { readonly type: 'enablingDeclined' }
  | { readonly type: 'enablingFailed'; readonly arn: string; readonly failure: Failure }
  | { readonly type: 'ekmEnabled'; readonly arn: string }
  | { readonly type: 'tenantKeyRewrapped'; readonly from: KeyRef; readonly to: KeyRef }
  /** The key under the tenant key was destroyed: a new tenant key under `to`; what `lost` protected stays unrecoverable (EKM-21). */
  | { readonly type: 'tenantKeyReplaced'; readonly lost: KeyRef; readonly to: KeyRef; readonly unrecoverable: readonly string[] }
  | { readonly type: 'updateStarted'; readonly oldArn: string; readonly newArn: string }
  | { readonly type: 'updateCompleted'; readonly oldArn: string; readonly newArn: string }
  | { readonly type: 'updateFailed'; readonly oldArn: string; readonly newArn: string; readonly failure: Failure }
  /** A KMS call on a customer key from the provider's account; the audit trail must show it (EKM-11). */
  | { readonly type: 'keyUsed'; readonly arn: string; readonly operation: KeyOperation; readonly context: EncryptionContext; readonly by: Workflow | 'enable' | 'update' }
  | { readonly type: 'backedUp'; readonly workflow: BackupWorkflow; readonly snapshotId: string; readonly protectedBy: readonly KeyRef[] }
  | { readonly type: 'restored' | 'downloaded'; readonly snapshotId: string }
  | { readonly type: 'workflowFailed'; readonly workflow: Workflow; readonly failure: Failure }
  | { readonly type: 'keyChanged'; readonly arn: string; readonly command: KeyCommand['type'] };

export interface Decision {
  readonly state: AccountState;
  readonly events: readonly AccountEvent[];
  /** Why the command did not do what it asks: an illegal command, a rejected key, a failed workflow. */
  readonly refusal?: Failure;
  /** Id of the transition taken, from TRANSITIONS or KEY_TRANSITIONS. */
  readonly transition: string;
}

export interface Transition {
  readonly id: string;
  readonly from: Phase;
  readonly command: AccountCommandType;
  readonly to: Phase;
  /** Set on refusals of an illegal command: the code it is refused with. */
  readonly refusal?: FailureCode;
}

const CLOUD_PHASES: readonly Phase[] = ['notActivated', 'cloudKms', 'arnValidated', 'termsShown'];

const MOVES: readonly Transition[] = [
  { id: 'notActivated.activate', from: 'notActivated', command: 'activate', to: 'cloudKms' },
  { id: 'cloudKms.submitArn.validated', from: 'cloudKms', command: 'submitArn', to: 'arnValidated' },
  { id: 'cloudKms.submitArn.rejected', from: 'cloudKms', command: 'submitArn', to: 'cloudKms' },
  { id: 'arnValidated.submitArn.validated', from: 'arnValidated', command: 'submitArn', to: 'arnValidated' },
  { id: 'arnValidated.submitArn.rejected', from: 'arnValidated', command: 'submitArn', to: 'arnValidated' },
  { id: 'arnValidated.showTerms', from: 'arnValidated', command: 'showTerms', to: 'termsShown' },
  { id: 'termsShown.showTerms', from: 'termsShown', command: 'showTerms', to: 'termsShown' },
  { id: 'arnValidated.declineTerms', from: 'arnValidated', command: 'declineTerms', to: 'cloudKms' },
  { id: 'termsShown.declineTerms', from: 'termsShown', command: 'declineTerms', to: 'cloudKms' },
  { id: 'termsShown.acceptTerms.enabled', from: 'termsShown', command: 'acceptTerms', to: 'ekmEnabled' },
  { id: 'termsShown.acceptTerms.failed', from: 'termsShown', command: 'acceptTerms', to: 'cloudKms' },
  { id: 'ekmEnabled.updateKey.validated', from: 'ekmEnabled', command: 'updateKey', to: 'updating' },
  { id: 'ekmEnabled.updateKey.rejected', from: 'ekmEnabled', command: 'updateKey', to: 'ekmEnabled' },
  { id: 'updating.completeUpdate.completed', from: 'updating', command: 'completeUpdate', to: 'ekmEnabled' },
  { id: 'updating.completeUpdate.failed', from: 'updating', command: 'completeUpdate', to: 'ekmEnabled' },
  ...STATES.flatMap((from) =>
    WORKFLOWS.flatMap((command) => {
      // Under Cloud Key Management the provider's own key never fails in the model; a read can
      // still miss its snapshot.
      const outcomes = CLOUD_PHASES.includes(from) && (command === 'scheduledBackup' || command === 'manualBackup') ? ['ok'] : ['ok', 'failed'];
      return outcomes.map((o) => ({ id: `${from}.${command}.${o}`, from, command, to: from }));
    }),
  ),
];

/** Why a command that has no move from a phase is illegal there. */
function illegal(phase: Phase, command: AccountCommandType): FailureCode {
  if (command === 'activate') return 'AlreadyActivated';
  if (command === 'returnToCloudKms') return ekmInForce(phase) ? 'CannotReturnToCloudKms' : 'NotEnabled';
  if (phase === 'notActivated') return 'NotActivated';
  if (phase === 'updating') return 'UpdateInProgress';
  if (phase === 'ekmEnabled') return command === 'completeUpdate' ? 'NoUpdateInProgress' : 'AlreadyEnabled';
  if (command === 'completeUpdate') return 'NotEnabled';
  if (command === 'updateKey') return phase === 'cloudKms' ? 'NotEnabled' : 'TermsNotAccepted';
  if (phase === 'cloudKms') return 'NotValidated';
  // arnValidated: the terms are not shown yet; termsShown: they await an answer.
  return 'TermsNotAccepted';
}

/** Every transition of the account, refusals of illegal commands included, each with a stable id. */
export const TRANSITIONS: readonly Transition[] = [
  ...MOVES,
  ...STATES.flatMap((from) =>
    ACCOUNT_COMMAND_TYPES.filter((command) => !MOVES.some((t) => t.from === from && t.command === command)).map(
      (command): Transition => {
        const refusal = illegal(from, command);
        return { id: `${from}.${command}.refused`, from, command, to: from, refusal };
      },
    ),
  ),
];

const TRANSITION_BY_ID = new Map(TRANSITIONS.map((t) => [t.id, t]));
export function transitionById(id: string): Transition | undefined {
  return TRANSITION_BY_ID.get(id);
}

export function encryptionContext(state: AccountState): EncryptionContext {
  return { tenant: state.tenantId, purpose: 'tenant-key' };
}

/** The condition of a key as the provider would meet it now; the cloud key is always usable. */
export function conditionOf(state: AccountState, ref: KeyRef): KeyCondition {
  return ref === CLOUD_KEY ? 'usable' : keyCondition(state.keys[ref]);
}

export type KeyConditions = (ref: KeyRef) => KeyCondition;

/** The key in force: the one every new backup and the tenant key are protected by. */
export function keyInForce(state: AccountState): KeyRef {
  return state.activeArn ?? CLOUD_KEY;
}

export interface KeyNeed {
  readonly key: KeyRef;
  readonly operation: KeyOperation;
}

export type WorkflowOutcome =
  | { readonly ok: true; readonly workflow: Workflow; readonly needs: readonly KeyNeed[]; readonly snapshot?: Snapshot; readonly usedKey: KeyRef }
  | { readonly ok: false; readonly workflow: Workflow; readonly needs: readonly KeyNeed[]; readonly failure: Failure };

function findSnapshot(state: AccountState, snapshotId: string | undefined): Snapshot | undefined {
  return snapshotId === undefined ? state.snapshots.at(-1) : state.snapshots.find((s) => s.id === snapshotId);
}

/**
 * What a workflow needs from which key (EKM-11): every workflow unwraps the tenant key once.
 * A backup unwraps it with the key in force; a restore or download with a key protecting its snapshot.
 */
export function keyNeeds(state: AccountState, workflow: Workflow, snapshotId?: string): readonly KeyNeed[] {
  if (workflow === 'scheduledBackup' || workflow === 'manualBackup') return [{ key: keyInForce(state), operation: 'Decrypt' }];
  const snapshot = findSnapshot(state, snapshotId);
  return snapshot === undefined ? [] : snapshot.protectedBy.map((key) => ({ key, operation: 'Decrypt' as const }));
}

/**
 * The outcome of a workflow from the account state and the conditions of the keys it needs.
 * A key destroyed under a snapshot makes that data unrecoverable (EKM-18), which a read reports
 * as DataUnrecoverable rather than the key's own failure.
 */
export function workflowOutcome(
  state: AccountState,
  workflow: Workflow,
  /** For a backup, `snapshotId` names the snapshot it would take. */
  options: { readonly snapshotId?: string; readonly conditions?: KeyConditions } = {},
): WorkflowOutcome {
  const conditions = options.conditions ?? ((ref: KeyRef) => conditionOf(state, ref));
  const reads = workflow === 'restore' || workflow === 'download';
  const needs = keyNeeds(state, workflow, reads ? options.snapshotId : undefined);
  if (reads && findSnapshot(state, options.snapshotId) === undefined) {
    return { ok: false, workflow, needs, failure: failure('SnapshotNotFound', undefined, options.snapshotId) };
  }
  // Any one protecting key will do; if none does, the first key's failure is the reason.
  let first: Failure | undefined;
  for (const need of needs) {
    const condition = conditions(need.key);
    if (condition === 'usable') {
      if (reads) return { ok: true, workflow, needs, usedKey: need.key };
      const snapshot: Snapshot = { id: options.snapshotId ?? `snap-${state.snapshotCount + 1}`, workflow: workflow as BackupWorkflow, protectedBy: [keyInForce(state)] };
      return { ok: true, workflow, needs, usedKey: need.key, snapshot };
    }
    first ??=
      reads && condition === 'deleted'
        ? failure('DataUnrecoverable', 'the key protecting this backup was deleted; the data cannot be recovered', need.key)
        : conditionFailure(condition, need.key);
  }
  return { ok: false, workflow, needs, failure: first ?? failure('DataUnrecoverable', 'no key protects this backup') };
}

/**
 * Validates a submitted ARN the way the provider does, by using the key from its account
 * (EKM-06, EKM-14): parse, look up, then the key's condition and type, in the order KMS answers.
 * A refusal is the first finding; the provider may report more than one.
 */
export function validateKey(state: AccountState, input: string): { ok: true; arn: string } | { ok: false; failure: Failure } {
  const parsed = parseKeyArn(input);
  if (!parsed.ok) return parsed;
  const { arn, region } = parsed.arn;
  if (state.regions.length > 0 && !state.regions.includes(region)) {
    return { ok: false, failure: failure('KeyRegionMismatch', `keys in ${region} are not supported; use one of ${state.regions.join(', ')}`, 'region') };
  }
  const key = state.keys[arn];
  const condition = keyCondition(key);
  const refuse = (code: FailureCode) => ({ ok: false as const, failure: failure(code, undefined, arn) });
  if (condition === 'throttled' || condition === 'transient') return { ok: false, failure: conditionFailure(condition, arn)! };
  // KMS answers NotFound for a key that never existed and for a deleted one alike.
  if (key === undefined || condition === 'deleted') return refuse('KeyNotFound');
  // The key's state comes before its type, as DescribeKey findings are listed in @ekm/kms.
  const unusable = conditionFailure(condition, arn);
  if (unusable !== undefined) return { ok: false, failure: unusable };
  if (key.spec !== 'SYMMETRIC_DEFAULT') return refuse('UnsupportedKeySpec');
  if (key.usage !== 'ENCRYPT_DECRYPT') return refuse('UnsupportedKeyUsage');
  return { ok: true, arn };
}

/** What the console shows on the Key Management tab (EKM-01, EKM-02, EKM-10). */
export interface ConsoleView {
  /** The EKM configuration fields; hidden until support activates EKM. */
  readonly ekmSection: boolean;
  readonly providerAccountId?: string;
  readonly keyArn?: string;
  readonly externalKeyManagement: 'Enabled' | 'Disabled';
  readonly cloudKeyManagement: 'Enabled' | 'Disabled';
  readonly updateInProgress: boolean;
  /** Snapshots every key protecting them is destroyed under: listed so the customer knows what is lost (EKM-18, EKM-21). */
  readonly unrecoverableSnapshots: readonly string[];
}

export function consoleView(state: AccountState): ConsoleView {
  const ekm = ekmInForce(state.phase);
  const activated = state.phase !== 'notActivated';
  return {
    ekmSection: activated,
    ...(activated ? { providerAccountId: state.providerAccountId } : {}),
    ...(state.activeArn !== undefined ? { keyArn: state.activeArn } : {}),
    externalKeyManagement: ekm ? 'Enabled' : 'Disabled',
    cloudKeyManagement: ekm ? 'Disabled' : 'Enabled',
    updateInProgress: state.phase === 'updating',
    unrecoverableSnapshots: unrecoverableSnapshots(state),
  };
}

/** Ids of the snapshots no key can read any more: every key protecting them is destroyed (EKM-18). */
export function unrecoverableSnapshots(state: AccountState): readonly string[] {
  return state.snapshots.filter((s) => s.protectedBy.length > 0 && s.protectedBy.every((k) => conditionOf(state, k) === 'deleted')).map((s) => s.id);
}

/** The tenant key moves from `from` to `to`: the snapshots it reads move with it; those under a destroyed tenant key stay lost (EKM-21). */
function rewrap(snapshots: readonly Snapshot[], from: KeyRef, to: KeyRef): readonly Snapshot[] {
  return snapshots.map((s) => (s.protectedBy.includes(from) ? { ...s, protectedBy: [to] } : s));
}

function without<K extends keyof AccountState>(state: AccountState, ...fields: K[]): AccountState {
  const next = { ...state };
  for (const f of fields) delete next[f];
  return next;
}

/**
 * The state machine: one command in, the next state, the events and the refusal out.
 * Pure: the input state is never changed, and illegal commands are refusals, never throws.
 */
export function decide(state: AccountState, command: Command): Decision {
  if (isKeyCommand(command)) {
    const d = decideKey(state.keys, command);
    const events: AccountEvent[] = d.refusal === undefined ? [{ type: 'keyChanged', arn: command.arn, command: command.type }] : [];
    return { state: d.keys === state.keys ? state : { ...state, keys: d.keys }, events, transition: d.transition, ...(d.refusal ? { refusal: d.refusal } : {}) };
  }
  const { phase } = state;
  const ctx = encryptionContext(state);
  const take = (suffix: string, next: AccountState, events: readonly AccountEvent[], refusal?: Failure): Decision => ({
    state: next,
    events,
    transition: `${phase}.${command.type}${suffix}`,
    ...(refusal ? { refusal } : {}),
  });

  switch (command.type) {
    case 'scheduledBackup':
    case 'manualBackup':
    case 'restore':
    case 'download': {
      const { snapshotId } = command;
      const outcome = workflowOutcome(state, command.type, snapshotId === undefined ? {} : { snapshotId });
      const used: AccountEvent[] = outcome.needs
        .filter((n) => n.key !== CLOUD_KEY)
        .map((n) => ({ type: 'keyUsed', arn: n.key, operation: n.operation, context: ctx, by: command.type }));
      if (!outcome.ok) {
        // A failed workflow commits nothing (EKM-12).
        return take('.failed', state, [...used, { type: 'workflowFailed', workflow: command.type, failure: outcome.failure }], outcome.failure);
      }
      if (outcome.snapshot !== undefined) {
        const s = outcome.snapshot;
        return take('.ok', { ...state, snapshots: [...state.snapshots, s], snapshotCount: state.snapshotCount + 1 }, [
          ...used,
          { type: 'backedUp', workflow: s.workflow, snapshotId: s.id, protectedBy: s.protectedBy },
        ]);
      }
      const id = findSnapshot(state, snapshotId)!.id;
      return take('.ok', state, [...used, { type: command.type === 'restore' ? 'restored' : 'downloaded', snapshotId: id }]);
    }
  }

  const legal = MOVES.some((t) => t.from === phase && t.command === command.type);
  if (!legal) {
    const code = illegal(phase, command.type);
    return take('.refused', state, [], failure(code));
  }

  switch (command.type) {
    case 'activate':
      return take('', { ...state, phase: 'cloudKms' }, [{ type: 'activated' }]);
    case 'submitArn': {
      const v = validateKey(state, command.input);
      if (!v.ok) return take('.rejected', state, [{ type: 'arnRejected', failure: v.failure }], v.failure);
      return take('.validated', { ...state, phase: 'arnValidated', pendingArn: v.arn }, [{ type: 'arnValidated', arn: v.arn }]);
    }
    case 'showTerms':
      return take('', { ...state, phase: 'termsShown' }, [{ type: 'termsShown', arn: state.pendingArn! }]);
    case 'declineTerms':
      return take('', { ...without(state, 'pendingArn'), phase: 'cloudKms' }, [{ type: 'enablingDeclined' }]);
    case 'acceptTerms': {
      const arn = state.pendingArn!;
      const keyFailure = conditionFailure(conditionOf(state, arn), arn);
      const wrap: AccountEvent = { type: 'keyUsed', arn, operation: 'Encrypt', context: ctx, by: 'enable' };
      if (keyFailure !== undefined) {
        return take('.failed', { ...without(state, 'pendingArn'), phase: 'cloudKms' }, [wrap, { type: 'enablingFailed', arn, failure: keyFailure }], keyFailure);
      }
      // All earlier backups move under the customer's key with the tenant key (EKM-08).
      return take('.enabled', { ...without(state, 'pendingArn'), phase: 'ekmEnabled', activeArn: arn, snapshots: rewrap(state.snapshots, CLOUD_KEY, arn) }, [
        wrap,
        { type: 'tenantKeyRewrapped', from: CLOUD_KEY, to: arn },
        { type: 'ekmEnabled', arn },
      ]);
    }
    case 'updateKey': {
      const oldArn = state.activeArn!;
      const v = validateKey(state, command.input);
      const rejected = !v.ok ? v.failure : v.arn === oldArn ? failure('SameKey', undefined, v.arn) : undefined;
      if (rejected !== undefined || !v.ok) return take('.rejected', state, [{ type: 'arnRejected', failure: rejected! }], rejected);
      return take('.validated', { ...state, phase: 'updating', pendingArn: v.arn }, [{ type: 'updateStarted', oldArn, newArn: v.arn }]);
    }
    case 'completeUpdate': {
      const oldArn = state.activeArn!;
      const newArn = state.pendingArn!;
      const oldCondition = conditionOf(state, oldArn);
      const newCondition = conditionOf(state, newArn);
      if (oldCondition === 'deleted') return replaceDestroyed(state, oldArn, newArn, newCondition, take);
      // The rewrap reads the tenant key with the old key: a revoked old key fails the update (EKM-15).
      const f =
        oldCondition === 'usable'
          ? conditionFailure(newCondition, newArn)
          : oldCondition === 'throttled' || oldCondition === 'transient'
            ? conditionFailure(oldCondition, oldArn)
            : failure('UpdateNeedsOldKey', `the old key is ${oldCondition}; keep it usable until the update completes`, oldArn);
      // KMS calls are logged whether they succeed or not; the new key is tried only after the old one worked.
      const used: AccountEvent[] = [{ type: 'keyUsed', arn: oldArn, operation: 'Decrypt', context: ctx, by: 'update' }];
      const wrap: AccountEvent = { type: 'keyUsed', arn: newArn, operation: 'Encrypt', context: ctx, by: 'update' };
      if (oldCondition === 'usable') used.push(wrap);
      if (f !== undefined) {
        return take('.failed', { ...without(state, 'pendingArn'), phase: 'ekmEnabled' }, [...used, { type: 'updateFailed', oldArn, newArn, failure: f }], f);
      }
      // The commit is atomic: snapshots go from the old key to the new one in one step (EKM-16).
      return take('.completed', { ...without(state, 'pendingArn'), phase: 'ekmEnabled', activeArn: newArn, snapshots: rewrap(state.snapshots, oldArn, newArn) }, [
        ...used,
        { type: 'tenantKeyRewrapped', from: oldArn, to: newArn },
        { type: 'updateCompleted', oldArn, newArn },
      ]);
    }
    case 'returnToCloudKms':
      // No legal move exists; kept for exhaustiveness.
      return take('.refused', state, [], failure(illegal(phase, command.type)));
  }
}

/**
 * Completing an update whose old key is destroyed (deleted after its waiting period): the tenant
 * key it wrapped is gone with it, so nothing can be rewrapped and waiting for the old key is
 * pointless. A new tenant key under the new key takes over; later backups are protected by it,
 * and the snapshots only the destroyed key protected stay unrecoverable (EKM-21, EKM-18).
 * A key that is only deactivated is not this case: EKM-15 still refuses the update.
 */
function replaceDestroyed(
  state: AccountState,
  oldArn: string,
  newArn: string,
  newCondition: KeyCondition,
  take: (suffix: string, next: AccountState, events: readonly AccountEvent[], refusal?: Failure) => Decision,
): Decision {
  const ctx = encryptionContext(state);
  const used: AccountEvent[] = [
    { type: 'keyUsed', arn: oldArn, operation: 'Decrypt', context: ctx, by: 'update' },
    { type: 'keyUsed', arn: newArn, operation: 'Encrypt', context: ctx, by: 'update' },
  ];
  const f = conditionFailure(newCondition, newArn);
  if (f !== undefined) {
    return take('.failed', { ...without(state, 'pendingArn'), phase: 'ekmEnabled' }, [...used, { type: 'updateFailed', oldArn, newArn, failure: f }], f);
  }
  const next: AccountState = { ...without(state, 'pendingArn'), phase: 'ekmEnabled', activeArn: newArn };
  return take('.completed', next, [
    ...used,
    { type: 'tenantKeyReplaced', lost: oldArn, to: newArn, unrecoverable: unrecoverableSnapshots(next) },
    { type: 'updateCompleted', oldArn, newArn },
  ]);
}

/** Runs commands in order; each decision is the oracle's answer to "what should happen now". */
export function replay(state: AccountState, commands: readonly Command[]): { readonly state: AccountState; readonly decisions: readonly Decision[] } {
  const decisions: Decision[] = [];
  let current = state;
  for (const c of commands) {
    const d = decide(current, c);
    decisions.push(d);
    current = d.state;
  }
  return { state: current, decisions };
}

export interface TransitionCoverage {
  readonly total: number;
  readonly covered: readonly string[];
  readonly missing: readonly string[];
}

/** Which listed transitions (account and key) a set of taken transition ids covers. */
export function transitionCoverage(taken: Iterable<string>): TransitionCoverage {
  const seen = new Set(taken);
  const all = [...TRANSITIONS.map((t) => t.id), ...KEY_TRANSITIONS.map((t) => t.id)];
  return { total: all.length, covered: all.filter((id) => seen.has(id)), missing: all.filter((id) => !seen.has(id)) };
}

/**
 * A mutable holder of the model for command-by-command driving, e.g. as the model of a
 * fast-check `asyncModelRun`: `expect` answers "what should happen now" without moving,
 * `apply` moves and counts the transition taken.
 */
export class AccountModel {
  state: AccountState;
  readonly taken = new Map<string, number>();

  constructor(state: AccountState = initialAccount()) {
    this.state = state;
  }

  expect(command: Command): Decision {
    return decide(this.state, command);
  }

  apply(command: Command): Decision {
    const d = decide(this.state, command);
    this.state = d.state;
    this.taken.set(d.transition, (this.taken.get(d.transition) ?? 0) + 1);
    return d;
  }

  coverage(): TransitionCoverage {
    return transitionCoverage(this.taken.keys());
  }
}

/** Refuses a key unwrapped under another tenant's or purpose's context (EKM-20). */
export function checkEncryptionContext(expected: EncryptionContext, actual: Readonly<Record<string, string>>): Failure | undefined {
  const keys = Object.keys(actual);
  const same = keys.length === 2 && actual['tenant'] === expected.tenant && actual['purpose'] === expected.purpose;
  return same ? undefined : failure('DataTampered', 'the encryption context does not match this tenant and purpose');
}
