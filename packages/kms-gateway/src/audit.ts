import { closeSync, openSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

/** One CloudTrail-shaped record per KMS call. Never holds plaintext, data keys, ciphertext or import material. */
export interface AuditEvent {
  eventVersion: '1.08';
  eventID: string;
  eventTime: string;
  eventSource: 'kms.amazonaws.com';
  eventName: string;
  eventType: 'AwsApiCall';
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  userIdentity: { type: 'AWSAccount' | 'AssumedRole' | 'IAMUser' | 'Root'; accountId: string; arn: string; accessKeyId: string };
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  resources: { accountId: string; type: 'AWS::KMS::Key'; ARN: string }[];
  recipientAccountId: string;
  readOnly: boolean;
  errorCode?: string;
  errorMessage?: string;
  /** On a call across accounts: the same id in the caller's and the key owner's copy of the event. */
  sharedEventID?: string;
  /** Gateway addition: the toxic that produced this answer. */
  toxic?: string;
}

export interface AuditQuery {
  /** Caller account or key-owner account. */
  account?: string;
  callerAccount?: string;
  keyArn?: string;
  eventName?: string | string[];
  errorCode?: string;
  /** Only successful calls (no errorCode) when false; only failed ones when true. */
  failed?: boolean;
  since?: Date | string;
  until?: Date | string;
  /**
   * The trail of this account as CloudTrail delivers it: its callers' events and, for calls
   * from other accounts on its keys, its own copy (recipientAccountId = this account, its own
   * eventID, the sharedEventID of both copies).
   */
  recipientAccount?: string;
}

/** Request fields that CloudTrail records for KMS; anything else (Plaintext, CiphertextBlob, ImportToken...) is dropped. */
const RECORDED = [
  'KeyId', 'SourceKeyId', 'DestinationKeyId', 'TargetKeyId', 'AliasName', 'EncryptionContext',
  'SourceEncryptionContext', 'DestinationEncryptionContext', 'EncryptionAlgorithm', 'SourceEncryptionAlgorithm',
  'DestinationEncryptionAlgorithm', 'KeySpec', 'NumberOfBytes', 'KeyUsage', 'Origin', 'Description', 'MultiRegion',
  'PendingWindowInDays', 'PolicyName', 'BypassPolicyLockoutSafetyCheck', 'GranteePrincipal', 'RetiringPrincipal',
  'Operations', 'Constraints', 'Name', 'GrantId', 'ValidTo', 'ExpirationModel', 'WrappingAlgorithm',
  'WrappingKeySpec', 'RotationPeriodInDays', 'Limit', 'Marker', 'DryRun',
] as const;

export function recordedParameters(body: Record<string, unknown>): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const field of RECORDED) {
    if (body[field] !== undefined) out[field[0]!.toLowerCase() + field.slice(1)] = body[field];
  }
  return Object.keys(out).length === 0 ? null : out;
}

export class AuditTrail {
  readonly #events: AuditEvent[] = [];
  /** The eventID of the key owner's copy of each cross-account event. */
  readonly #ownerCopyIds = new WeakMap<AuditEvent, string>();
  #fd: number | undefined;

  /** Lines are written synchronously so the file is complete whenever a caller has its answer. */
  constructor(file?: string) {
    this.#fd = file === undefined ? undefined : openSync(file, 'a');
  }

  static newId(): string {
    return randomUUID();
  }

  record(event: AuditEvent): void {
    if (event.resources.some((r) => r.accountId !== event.userIdentity.accountId)) {
      event.sharedEventID = randomUUID();
      this.#ownerCopyIds.set(event, randomUUID());
    }
    this.#events.push(event);
    if (this.#fd !== undefined) writeSync(this.#fd, `${JSON.stringify(event)}\n`);
  }

  query(q: AuditQuery = {}): AuditEvent[] {
    const names = q.eventName === undefined ? undefined : new Set([q.eventName].flat());
    const since = q.since === undefined ? undefined : new Date(q.since).toISOString();
    const until = q.until === undefined ? undefined : new Date(q.until).toISOString();
    return this.#events.filter((e) => {
      if (q.callerAccount !== undefined && e.userIdentity.accountId !== q.callerAccount) return false;
      if (
        q.account !== undefined &&
        e.userIdentity.accountId !== q.account &&
        !e.resources.some((r) => r.accountId === q.account)
      ) {
        return false;
      }
      if (q.keyArn !== undefined && !e.resources.some((r) => r.ARN === q.keyArn)) return false;
      if (names !== undefined && !names.has(e.eventName)) return false;
      if (q.errorCode !== undefined && e.errorCode !== q.errorCode) return false;
      if (q.failed !== undefined && (e.errorCode !== undefined) !== q.failed) return false;
      if (since !== undefined && e.eventTime < since) return false;
      if (until !== undefined && e.eventTime > until) return false;
      const r = q.recipientAccount;
      if (r !== undefined && e.userIdentity.accountId !== r && !e.resources.some((res) => res.accountId === r)) return false;
      return true;
    }).map((e) => this.#deliveredTo(e, q.recipientAccount));
  }

  #deliveredTo(e: AuditEvent, account: string | undefined): AuditEvent {
    if (account === undefined || account === e.recipientAccountId) return e;
    return { ...e, eventID: this.#ownerCopyIds.get(e) ?? e.eventID, recipientAccountId: account };
  }

  /** Clears the in-memory trail (all of it, or one account's events); the file keeps everything. */
  clear(q: Pick<AuditQuery, 'account'> = {}): number {
    const before = this.#events.length;
    const drop = new Set(q.account === undefined ? this.#events : this.query({ account: q.account }));
    const keep = this.#events.filter((e) => !drop.has(e));
    this.#events.splice(0, this.#events.length, ...keep);
    return before - this.#events.length;
  }

  get size(): number {
    return this.#events.length;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
