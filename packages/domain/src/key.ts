import { failure, type Failure, type FailureCode } from './failures.ts';

/** KMS key states the model distinguishes (PendingImport is `material: 'missing'`, kept apart). */
export type KeyLifecycle = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'Deleted';
export type KeySpec = 'SYMMETRIC_DEFAULT' | 'RSA_2048' | 'RSA_4096' | 'ECC_NIST_P256' | 'HMAC_256';
export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC';
/** Keys in a CloudHSM or external key store are AWS-integrated third-party keys (EKM-04). */
export type KeyOrigin = 'AWS_KMS' | 'EXTERNAL' | 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE';
export type KmsFault = 'none' | 'throttled' | 'unavailable';

/** What the customer's side of the world says about one key, as the provider's account would meet it. */
export interface KeyFacts {
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly origin: KeyOrigin;
  readonly multiRegion: boolean;
  readonly lifecycle: KeyLifecycle;
  /** Whether the key policy and grants let the provider's account use the key. */
  readonly access: 'allowed' | 'denied';
  /** Imported material (Origin EXTERNAL) deleted or expired; always `present` for AWS_KMS keys. */
  readonly material: 'present' | 'missing';
  /** A fault between the provider and KMS; says nothing about the key itself. */
  readonly fault: KmsFault;
  readonly rotations: number;
}

export type KeyShape = Pick<KeyFacts, 'spec' | 'usage' | 'origin' | 'multiRegion'>;

export const SYMMETRIC_KEY: KeyShape = { spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', origin: 'AWS_KMS', multiRegion: false };

export function newKey(shape: Partial<KeyShape> = {}): KeyFacts {
  return { ...SYMMETRIC_KEY, ...shape, lifecycle: 'Enabled', access: 'allowed', material: 'present', fault: 'none', rotations: 0 };
}

/** How using a key for a workflow turns out. `transient` is KMS unreachable or failing internally. */
export type KeyCondition =
  | 'usable'
  | 'disabled'
  | 'accessDenied'
  | 'pendingDeletion'
  | 'materialUnavailable'
  | 'deleted'
  | 'throttled'
  | 'transient';

export const KEY_CONDITIONS: readonly KeyCondition[] = [
  'usable', 'disabled', 'accessDenied', 'pendingDeletion', 'materialUnavailable', 'deleted', 'throttled', 'transient',
];

/** The conditions by which the customer withdraws access (EKM-12); each can be given back (EKM-13). */
export const REVOKED_CONDITIONS = ['disabled', 'accessDenied', 'pendingDeletion', 'materialUnavailable'] as const;

/**
 * One condition even when several causes overlap, in the order KMS reports them: a deleted key
 * is gone whatever the network does (so deletion is never reported as transient, EKM-18); a
 * fault hides the key; the key policy is checked before the key state.
 */
export function keyCondition(key: KeyFacts | undefined): KeyCondition {
  if (key === undefined || key.lifecycle === 'Deleted') return 'deleted';
  if (key.fault === 'throttled') return 'throttled';
  if (key.fault === 'unavailable') return 'transient';
  if (key.access === 'denied') return 'accessDenied';
  if (key.lifecycle === 'PendingDeletion') return 'pendingDeletion';
  if (key.lifecycle === 'Disabled') return 'disabled';
  if (key.material === 'missing') return 'materialUnavailable';
  return 'usable';
}

const CONDITION_FAILURE: Record<Exclude<KeyCondition, 'usable'>, FailureCode> = {
  disabled: 'KeyDisabled',
  accessDenied: 'KeyAccessDenied',
  pendingDeletion: 'KeyPendingDeletion',
  materialUnavailable: 'KeyMaterialUnavailable',
  deleted: 'KeyDeleted',
  throttled: 'KmsThrottled',
  transient: 'KmsUnavailable',
};

/** The failure a key condition causes, or undefined when the key is usable. */
export function conditionFailure(condition: KeyCondition, field?: string): Failure | undefined {
  return condition === 'usable' ? undefined : failure(CONDITION_FAILURE[condition], undefined, field);
}

export type KeyCommandType =
  | 'createKey'
  | 'disableKey'
  | 'enableKey'
  | 'denyAccess'
  | 'allowAccess'
  | 'scheduleDeletion'
  | 'cancelDeletion'
  | 'deletionDue'
  | 'deleteMaterial'
  | 'reimportMaterial'
  | 'rotateKey'
  | 'kmsFault'
  | 'kmsRecover';

/** What the customer (or the network) does to a key; the provider only meets the consequences. */
export type KeyCommand =
  | { readonly type: 'createKey'; readonly arn: string; readonly shape?: Partial<KeyShape> }
  | { readonly type: 'kmsFault'; readonly arn: string; readonly fault: Exclude<KmsFault, 'none'> }
  | { readonly type: Exclude<KeyCommandType, 'createKey' | 'kmsFault'>; readonly arn: string };

export const KEY_COMMAND_TYPES: readonly KeyCommandType[] = [
  'createKey', 'disableKey', 'enableKey', 'denyAccess', 'allowAccess', 'scheduleDeletion', 'cancelDeletion',
  'deletionDue', 'deleteMaterial', 'reimportMaterial', 'rotateKey', 'kmsFault', 'kmsRecover',
];

export type KeyState = KeyLifecycle | 'absent';

export interface KeyTransition {
  readonly id: string;
  readonly from: KeyState | 'any';
  readonly command: KeyCommandType;
  readonly to: KeyState | 'same';
  /** Set on refusals: the code the key operation fails with. */
  readonly refusal?: FailureCode;
}

const LIVE: readonly KeyLifecycle[] = ['Enabled', 'Disabled', 'PendingDeletion'];

/** Moves of a key's lifecycle, following AWS KMS (a cancelled deletion leaves the key Disabled). */
const KEY_MOVES: ReadonlyArray<readonly [KeyCommandType, KeyState, KeyState]> = [
  ['createKey', 'absent', 'Enabled'],
  ['disableKey', 'Enabled', 'Disabled'],
  ['disableKey', 'Disabled', 'Disabled'],
  ['enableKey', 'Disabled', 'Enabled'],
  ['enableKey', 'Enabled', 'Enabled'],
  ['scheduleDeletion', 'Enabled', 'PendingDeletion'],
  ['scheduleDeletion', 'Disabled', 'PendingDeletion'],
  ['cancelDeletion', 'PendingDeletion', 'Disabled'],
  ['deletionDue', 'PendingDeletion', 'Deleted'],
  ['rotateKey', 'Enabled', 'Enabled'],
  ...(['denyAccess', 'allowAccess', 'deleteMaterial', 'reimportMaterial'] as const).flatMap((c) =>
    LIVE.map((s) => [c, s, s] as const),
  ),
  ...(['kmsFault', 'kmsRecover'] as const).flatMap((c) =>
    [...LIVE, 'Deleted' as const].map((s) => [c, s, s] as const),
  ),
];

const KEY_REFUSALS: ReadonlyArray<readonly [KeyCommandType, FailureCode]> = [
  ['createKey', 'KeyInvalidState'],
  ...KEY_COMMAND_TYPES.filter((c) => c !== 'createKey').map((c) => [c, 'KeyNotFound'] as const),
  ...KEY_COMMAND_TYPES.filter((c) => !['createKey', 'kmsFault', 'kmsRecover'].includes(c)).map((c) => [c, 'KeyDeleted'] as const),
  ...(['disableKey', 'enableKey', 'scheduleDeletion', 'cancelDeletion', 'deletionDue', 'deleteMaterial', 'reimportMaterial', 'rotateKey'] as const).map(
    (c) => [c, 'KeyInvalidState'] as const,
  ),
];

export const KEY_TRANSITIONS: readonly KeyTransition[] = [
  ...KEY_MOVES.map(([command, from, to]) => ({ id: `key.${command}.${from}`, from, command, to })),
  ...KEY_REFUSALS.map(([command, refusal]) => ({ id: `key.${command}.${refusal}`, from: 'any' as const, command, to: 'same' as const, refusal })),
];

export interface KeyDecision {
  readonly keys: Readonly<Record<string, KeyFacts>>;
  readonly transition: string;
  readonly refusal?: Failure;
}

/** Applies one customer or network action to the keys; refusals mirror what KMS would answer. */
export function decideKey(keys: Readonly<Record<string, KeyFacts>>, command: KeyCommand): KeyDecision {
  const key = keys[command.arn];
  const refuse = (code: FailureCode, message?: string): KeyDecision => ({
    keys,
    transition: `key.${command.type}.${code}`,
    refusal: failure(code, message, command.arn),
  });
  if (command.type === 'createKey') {
    if (key !== undefined) return refuse('KeyInvalidState', 'a key with this ARN already exists');
    return { keys: { ...keys, [command.arn]: newKey(command.shape) }, transition: 'key.createKey.absent' };
  }
  if (key === undefined) return refuse('KeyNotFound');
  const from = key.lifecycle;
  const move = (next: Partial<KeyFacts>): KeyDecision => ({
    keys: { ...keys, [command.arn]: { ...key, ...next } },
    transition: `key.${command.type}.${from}`,
  });
  if (command.type === 'kmsFault') return move({ fault: command.fault });
  if (command.type === 'kmsRecover') return move({ fault: 'none' });
  if (from === 'Deleted') return refuse('KeyDeleted');
  switch (command.type) {
    case 'denyAccess':
      return move({ access: 'denied' });
    case 'allowAccess':
      return move({ access: 'allowed' });
    case 'disableKey':
      return from === 'PendingDeletion' ? refuse('KeyInvalidState') : move({ lifecycle: 'Disabled' });
    case 'enableKey':
      return from === 'PendingDeletion' ? refuse('KeyInvalidState') : move({ lifecycle: 'Enabled' });
    case 'scheduleDeletion':
      return from === 'PendingDeletion' ? refuse('KeyInvalidState') : move({ lifecycle: 'PendingDeletion' });
    case 'cancelDeletion':
      return from === 'PendingDeletion' ? move({ lifecycle: 'Disabled' }) : refuse('KeyInvalidState');
    case 'deletionDue':
      return from === 'PendingDeletion' ? move({ lifecycle: 'Deleted' }) : refuse('KeyInvalidState');
    case 'deleteMaterial':
      return key.origin === 'EXTERNAL' ? move({ material: 'missing' }) : refuse('KeyInvalidState', 'only keys with imported material (Origin EXTERNAL) have material to delete');
    case 'reimportMaterial':
      // KMS accepts only the same material back into a key, so what it protected stays readable.
      return key.origin === 'EXTERNAL' ? move({ material: 'present' }) : refuse('KeyInvalidState', 'only keys with imported material (Origin EXTERNAL) take imported material');
    case 'rotateKey':
      return from === 'Enabled' && key.origin === 'AWS_KMS' && key.spec === 'SYMMETRIC_DEFAULT'
        ? move({ rotations: key.rotations + 1 })
        : refuse('KeyInvalidState', 'only an enabled symmetric key with AWS_KMS material can be rotated');
  }
}
