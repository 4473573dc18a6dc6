import { KmsError, messages } from './errors.ts';
import { waitingUpstream } from './latency.ts';
import { parsePolicy, type PolicyDocument } from './policy.ts';
import type { Upstream } from './upstream.ts';

export interface KeyMetadata {
  KeyId: string;
  Arn: string;
  AWSAccountId: string;
  KeyState: string;
  KeySpec: string;
  KeyUsage: string;
  Origin: string;
  [field: string]: unknown;
}

export interface KeyRef {
  arn: string;
  account: string;
  region: string;
  keyId: string;
}

const KEY_ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/;
const ALIAS_ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(alias\/.+)$/;
const KEY_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

export function keyRefOf(arn: string): KeyRef | undefined {
  const m = KEY_ARN.exec(arn);
  return m ? { arn, region: m[1]!, account: m[2]!, keyId: m[3]! } : undefined;
}

/**
 * What the gateway knows about keys beyond LocalStack: their owners (to route a
 * Decrypt without KeyId to the right account), cached metadata and policies
 * (invalidated by every changing call made through the gateway), deletion schedules
 * and imported-material expiry on the gateway's clock.
 */
export class KeyRegistry {
  /** Key id to its ARN per Region: a multi-Region key's id (mrk-) is the same in every Region it is replicated to. */
  readonly #owners = new Map<string, Map<string, string>>();
  readonly #metadata = new Map<string, Promise<KeyMetadata>>();
  readonly #policies = new Map<string, Promise<PolicyDocument>>();
  readonly #deletion = new Map<string, { date: Date; windowDays: number }>();
  readonly #deleted = new Set<string>();
  readonly #validTo = new Map<string, Date>();

  constructor(private readonly upstream: Upstream) {}

  learn(arn: unknown): void {
    if (typeof arn !== 'string') return;
    const ref = keyRefOf(arn);
    if (!ref) return;
    const byRegion = this.#owners.get(ref.keyId) ?? new Map<string, string>();
    byRegion.set(ref.region, arn);
    this.#owners.set(ref.keyId, byRegion);
  }

  /**
   * The ARN of the key a ciphertext names, as seen from `region`: the key there if known; a
   * multi-Region key's related key in that Region (AWS decrypts a multi-Region ciphertext with
   * the related key of the Region called,
   * https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html);
   * otherwise the one Region the key is known in.
   */
  ownerArn(keyId: string, region: string): string | undefined {
    const byRegion = this.#owners.get(keyId);
    if (byRegion === undefined) return undefined;
    const here = byRegion.get(region);
    if (here !== undefined) return here;
    const [any] = byRegion.values();
    if (any === undefined) return undefined;
    const ref = keyRefOf(any)!;
    return keyId.startsWith('mrk-') ? `arn:aws:kms:${region}:${ref.account}:key/${keyId}` : any;
  }

  /** Resolves a KeyId parameter (key id, key ARN, alias name or alias ARN) as AWS would for this caller. */
  async resolve(raw: string, caller: { account: string; region: string }): Promise<KeyRef> {
    const arn = KEY_ARN.exec(raw);
    if (arn) {
      if (arn[1] !== caller.region) throw new KmsError('NotFoundException', messages.invalidArnRegion(arn[1]!));
      this.learn(raw);
      return keyRefOf(raw)!;
    }
    if (KEY_ID.test(raw)) {
      return keyRefOf(`arn:aws:kms:${caller.region}:${caller.account}:key/${raw}`)!;
    }
    const alias = ALIAS_ARN.exec(raw);
    if (alias || raw.startsWith('alias/')) {
      const account = alias ? alias[2]! : caller.account;
      if (alias && alias[1] !== caller.region) throw new KmsError('NotFoundException', messages.invalidArnRegion(alias[1]!));
      let meta: KeyMetadata;
      try {
        ({ KeyMetadata: meta } = await this.upstream.call<{ KeyMetadata: KeyMetadata }>(account, caller.region, 'DescribeKey', { KeyId: raw }));
      } catch (error) {
        // AWS names the alias by its ARN (https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html, NotFoundException).
        if (error instanceof KmsError && error.code === 'NotFoundException') {
          throw new KmsError('NotFoundException', messages.aliasNotFound(alias ? raw : `arn:aws:kms:${caller.region}:${account}:${raw}`));
        }
        throw error;
      }
      this.learn(meta.Arn);
      return keyRefOf(meta.Arn)!;
    }
    throw new KmsError('NotFoundException', messages.invalidKeyId(raw));
  }

  metadata(ref: KeyRef): Promise<KeyMetadata> {
    let cached = this.#metadata.get(ref.arn);
    if (cached === undefined) {
      cached = this.upstream
        .call<{ KeyMetadata: KeyMetadata }>(ref.account, ref.region, 'DescribeKey', { KeyId: ref.arn })
        .then((r) => r.KeyMetadata);
      cached.catch(() => this.#metadata.delete(ref.arn));
      this.#metadata.set(ref.arn, cached);
    }
    // Another call may be fetching it: the wait is LocalStack's either way.
    return waitingUpstream(cached);
  }

  remember(meta: KeyMetadata): void {
    this.learn(meta.Arn);
    this.#metadata.set(meta.Arn, Promise.resolve(meta));
  }

  policy(ref: KeyRef): Promise<PolicyDocument> {
    let cached = this.#policies.get(ref.arn);
    if (cached === undefined) {
      cached = this.upstream
        .call<{ Policy: string }>(ref.account, ref.region, 'GetKeyPolicy', { KeyId: ref.arn, PolicyName: 'default' })
        .then((r) => parsePolicy(r.Policy));
      cached.catch(() => this.#policies.delete(ref.arn));
      this.#policies.set(ref.arn, cached);
    }
    return waitingUpstream(cached);
  }

  forget(arn: string, what: { policy?: boolean } = {}): void {
    this.#metadata.delete(arn);
    if (what.policy) this.#policies.delete(arn);
  }

  scheduleDeletion(arn: string, date: Date, windowDays: number): void {
    this.#deletion.set(arn, { date, windowDays });
  }

  cancelDeletion(arn: string): void {
    this.#deletion.delete(arn);
  }

  deletionOf(arn: string): { date: Date; windowDays: number } | undefined {
    return this.#deletion.get(arn);
  }

  /** A key whose waiting period ended on the gateway's clock is gone for every caller. */
  isDeleted(arn: string, now: Date): boolean {
    if (this.#deleted.has(arn)) return true;
    const d = this.#deletion.get(arn);
    if (d === undefined || now < d.date) return false;
    this.#deleted.add(arn);
    this.#deletion.delete(arn);
    this.#validTo.delete(arn);
    return true;
  }

  get deletedArns(): ReadonlySet<string> {
    return this.#deleted;
  }

  setValidTo(arn: string, validTo: Date | undefined): void {
    if (validTo === undefined) this.#validTo.delete(arn);
    else this.#validTo.set(arn, validTo);
  }

  validToOf(arn: string): Date | undefined {
    return this.#validTo.get(arn);
  }

  /** Deletes in LocalStack the imported material whose ValidTo passed, as AWS does on expiry. */
  async expireMaterial(timeOf: (account: string) => Date, only?: string): Promise<string[]> {
    const expired: string[] = [];
    for (const [arn, validTo] of this.#validTo) {
      const ref = keyRefOf(arn)!;
      if ((only !== undefined && arn !== only) || timeOf(ref.account) < validTo) continue;
      this.#validTo.delete(arn);
      await this.upstream.call(ref.account, ref.region, 'DeleteImportedKeyMaterial', { KeyId: arn });
      this.forget(arn);
      expired.push(arn);
    }
    return expired;
  }
}
