/**
 * The customer's key administrator: every key operation a scenario can ask for, made
 * from the customer's own account through the KMS gateway, as the AWS console would.
 */
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  DeleteAliasCommand,
  CreateKeyCommand,
  DeleteImportedKeyMaterialCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
  KMSClient as Client,
  type GrantOperation,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { readFileSync } from 'node:fs';
import type { AccountRole, KeyPermission } from '../format.ts';

/** What the provider needs of a customer key (the statement the article's key policy gives it). */
export const PROVIDER_PERMISSIONS: readonly KeyPermission[] = ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'DescribeKey'];

export interface KeyRecord {
  readonly arn: string;
  readonly region: string;
  /** Who the key policy lets use the key, with which operations and context condition. */
  allow: Set<AccountRole>;
  operations: readonly KeyPermission[];
  context?: Readonly<Record<string, string>>;
  grants: Map<string, { id: string; to: AccountRole }>;
  /** Set when a whole policy document is in force: whether it lets the provider decrypt, as the harness reads it. */
  documentAllowsProvider?: boolean;
}

/** The AWS console's default key policy when "Other AWS accounts" names the provider: its three statements. */
export function consoleDefaultPolicy(customer: string, provider: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Id: 'key-consolepolicy-3',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${customer}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'Allow use of the key',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${provider}:root` },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        Resource: '*',
      },
      {
        Sid: 'Allow attachment of persistent resources',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${provider}:root` },
        Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    ],
  };
}

/**
 * Whether a policy document lets the provider's account use kms:Decrypt, read the simple way
 * (an Allow naming the account and the action, and no Deny of it): only for transition coverage;
 * the gateway, not this, decides every real call.
 */
function allowsDecrypt(document: Record<string, unknown>, provider: string): boolean {
  const statements = [document['Statement'] ?? []].flat() as { Effect?: string; Principal?: unknown; Action?: unknown; Condition?: unknown }[];
  const names = (s: { Principal?: unknown }) => JSON.stringify(s.Principal ?? '').includes(provider) || s.Principal === '*';
  const covers = (s: { Action?: unknown }) => [s.Action ?? []].flat().some((a) => typeof a === 'string' && (a === '*' || a === 'kms:*' || a === 'kms:Decrypt'));
  const denied = statements.some((s) => s.Effect === 'Deny' && names(s) && covers(s) && s.Condition === undefined);
  return !denied && statements.some((s) => s.Effect === 'Allow' && names(s) && covers(s));
}

export class KeyAdministrator {
  readonly #clients = new Map<string, KMSClient>();
  /** Imported material by name, so that "the same material" can be imported again (EKM-13). Never leaves memory. */
  readonly #materials = new Map<string, Uint8Array>();
  readonly keys = new Map<string, KeyRecord>();

  constructor(
    readonly endpoint: string,
    readonly region: string,
    readonly accounts: Readonly<Record<AccountRole, string>>,
    /** Told of each key material made up for import, so the secret scan looks for it too. */
    readonly onMaterial?: (material: Uint8Array) => void,
  ) {}

  #kms(region = this.region): KMSClient {
    let client = this.#clients.get(region);
    if (client === undefined) {
      // One attempt: the administrator sees refusals as they are; retries are the provider's business.
      // The harness's own client, signed as the customer's account (the gateway reads the account from the access key).
      client = new Client({ endpoint: this.endpoint, region, credentials: { accessKeyId: this.accounts.customer, secretAccessKey: 'test' }, maxAttempts: 1 });
      this.#clients.set(region, client);
    }
    return client;
  }

  /** Whether the key policy or a grant lets the provider's account use the key (as the domain's `access`). */
  providerAllowed(name: string): boolean {
    const key = this.key(name);
    if (key.documentAllowsProvider !== undefined) return key.documentAllowsProvider || [...key.grants.values()].some((g) => g.to === 'provider');
    return (key.allow.has('provider') && key.operations.includes('Decrypt')) || [...key.grants.values()].some((g) => g.to === 'provider');
  }

  key(name: string): KeyRecord {
    const key = this.keys.get(name);
    if (key === undefined) throw new Error(`no key named ${name} was created in this scenario`);
    return key;
  }

  policy(key: Pick<KeyRecord, 'allow' | 'operations' | 'context'>): string {
    const owner = {
      Sid: 'KeyAdministrators',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${this.accounts.customer}:root` },
      Action: 'kms:*',
      Resource: '*',
    };
    const users = [...key.allow]
      .filter((role) => role !== 'customer')
      .map((role) => ({
        Sid: `Allow use of the key for ${role}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${this.accounts[role]}:root` },
        Action: key.operations
          .map((op) => `kms:${op === 'ReEncryptFrom' || op === 'ReEncryptTo' ? 'ReEncrypt*' : op}`)
          .filter((a, i, all) => all.indexOf(a) === i),
        Resource: '*',
        ...(key.context === undefined
          ? {}
          : { Condition: { StringEquals: Object.fromEntries(Object.entries(key.context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])) } }),
      }));
    return JSON.stringify({ Version: '2012-10-17', Id: 'key-default', Statement: [owner, ...users] });
  }

  async createKey(args: {
    key: string;
    spec: string;
    usage?: string | undefined;
    origin: string;
    multiRegion: boolean;
    region?: string | undefined;
    allow: readonly AccountRole[];
  }): Promise<KeyRecord> {
    const usage = args.usage ?? (args.spec.startsWith('HMAC') ? 'GENERATE_VERIFY_MAC' : args.spec.startsWith('ECC') ? 'SIGN_VERIFY' : 'ENCRYPT_DECRYPT');
    const shape = { allow: new Set(args.allow), operations: PROVIDER_PERMISSIONS };
    const region = args.region ?? this.region;
    const out = await this.#kms(region).send(
      new CreateKeyCommand({
        KeySpec: args.spec as KeySpec,
        KeyUsage: usage as KeyUsageType,
        Origin: args.origin === 'EXTERNAL' ? 'EXTERNAL' : 'AWS_KMS',
        MultiRegion: args.multiRegion,
        Description: `ekm-conformance key ${args.key}`,
        Policy: this.policy(shape),
      }),
    );
    const record: KeyRecord = { arn: out.KeyMetadata!.Arn!, region, ...shape, grants: new Map() };
    this.keys.set(args.key, record);
    return record;
  }

  async replicateKey(args: { key: string; replica: string; region: string }): Promise<void> {
    const primary = this.key(args.key);
    const out = await this.#kms(primary.region).send(new ReplicateKeyCommand({ KeyId: primary.arn, ReplicaRegion: args.region, Policy: this.policy(primary) }));
    this.keys.set(args.replica, { ...primary, arn: out.ReplicaKeyMetadata!.Arn!, region: args.region, allow: new Set(primary.allow), grants: new Map() });
  }

  async importKeyMaterial(args: { key: string; material: string; expiresAt?: Date | undefined }): Promise<void> {
    const key = this.key(args.key);
    const kms = this.#kms(key.region);
    let material = this.#materials.get(args.material);
    if (material === undefined) {
      material = randomBytes(32);
      this.#materials.set(args.material, material);
      this.onMaterial?.(material);
    }
    const params = await kms.send(new GetParametersForImportCommand({ KeyId: key.arn, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const wrapped = publicEncrypt(
      {
        key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
      },
      material,
    );
    await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: key.arn,
        ImportToken: params.ImportToken!,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: args.expiresAt === undefined ? 'KEY_MATERIAL_DOES_NOT_EXPIRE' : 'KEY_MATERIAL_EXPIRES',
        ...(args.expiresAt === undefined ? {} : { ValidTo: args.expiresAt }),
      }),
    );
  }

  async deleteImportedKeyMaterial(name: string): Promise<void> {
    const key = this.key(name);
    await this.#kms(key.region).send(new DeleteImportedKeyMaterialCommand({ KeyId: key.arn }));
  }

  async putKeyPolicy(args: {
    key: string;
    allow?: readonly AccountRole[] | undefined;
    operations?: readonly KeyPermission[] | undefined;
    context?: Readonly<Record<string, string>> | undefined;
    document?: Readonly<Record<string, unknown>> | undefined;
    file?: string | undefined;
    preset?: 'console-default' | undefined;
    /** Fills `${tenant}` and resolves `file` (beside the scenario). */
    fill?: { readonly tenant: string; readonly tenants?: Readonly<Record<string, string>>; readonly dir: string } | undefined;
  }): Promise<void> {
    const key = this.key(args.key);
    if (args.allow === undefined) {
      const raw =
        args.preset === 'console-default'
          ? consoleDefaultPolicy(this.accounts.customer, this.accounts.provider)
          : (args.document ??
            (JSON.parse(readFileSync(args.fill === undefined ? args.file! : `${args.fill.dir}/${args.file!}`, 'utf8')) as Record<string, unknown>));
      const values: Record<string, string> = { ...this.accounts, region: key.region, key: key.arn, tenant: args.fill?.tenant ?? '' };
      const named = args.fill?.tenants ?? {};
      const text = JSON.stringify(raw)
        .replace(/\$\{tenant:([A-Za-z][A-Za-z0-9_-]*)\}/g, (_, n: string) => {
          if (named[n] === undefined) throw new Error(`the policy names \${tenant:${n}}, but the scenario has no tenant ${n}`);
          return named[n];
        })
        .replace(/\$\{(provider|customer|other|region|key|tenant)\}/g, (_, v: string) => values[v]!);
      await this.#kms(key.region).send(new PutKeyPolicyCommand({ KeyId: key.arn, PolicyName: 'default', Policy: text }));
      key.documentAllowsProvider = allowsDecrypt(JSON.parse(text) as Record<string, unknown>, this.accounts.provider);
      return;
    }
    const next = { allow: new Set(args.allow), operations: args.operations ?? PROVIDER_PERMISSIONS, context: args.context };
    await this.#kms(key.region).send(new PutKeyPolicyCommand({ KeyId: key.arn, PolicyName: 'default', Policy: this.policy(next) }));
    delete key.documentAllowsProvider;
    key.allow = next.allow;
    key.operations = next.operations;
    if (next.context === undefined) delete key.context;
    else key.context = next.context;
  }

  /** The alias's ARN in the customer's account: what the console is given when the customer pastes an alias. */
  aliasArn(alias: string): string {
    return `arn:aws:kms:${this.region}:${this.accounts.customer}:alias/${alias}`;
  }

  async createAlias(args: { alias: string; key: string }): Promise<void> {
    await this.#kms().send(new CreateAliasCommand({ AliasName: `alias/${args.alias}`, TargetKeyId: this.key(args.key).arn }));
  }

  async updateAlias(args: { alias: string; key: string }): Promise<void> {
    await this.#kms().send(new UpdateAliasCommand({ AliasName: `alias/${args.alias}`, TargetKeyId: this.key(args.key).arn }));
  }

  async deleteAlias(alias: string): Promise<void> {
    await this.#kms().send(new DeleteAliasCommand({ AliasName: `alias/${alias}` }));
  }

  async editKeyPolicy(args: {
    key: string;
    add?: readonly AccountRole[] | undefined;
    remove?: readonly AccountRole[] | undefined;
    operations?: readonly KeyPermission[] | undefined;
  }): Promise<void> {
    const key = this.key(args.key);
    const allow = new Set(key.allow);
    for (const r of args.add ?? []) allow.add(r);
    for (const r of args.remove ?? []) allow.delete(r);
    await this.putKeyPolicy({ key: args.key, allow: [...allow], operations: args.operations ?? key.operations, context: key.context });
  }

  async createGrant(args: {
    key: string;
    grant: string;
    to: AccountRole;
    operations?: readonly KeyPermission[] | undefined;
    context?: Readonly<Record<string, string>> | undefined;
  }): Promise<void> {
    const key = this.key(args.key);
    const out = await this.#kms(key.region).send(
      new CreateGrantCommand({
        KeyId: key.arn,
        Name: args.grant,
        GranteePrincipal: `arn:aws:iam::${this.accounts[args.to]}:root`,
        Operations: (args.operations ?? PROVIDER_PERMISSIONS) as GrantOperation[],
        ...(args.context === undefined ? {} : { Constraints: { EncryptionContextSubset: { ...args.context } } }),
      }),
    );
    key.grants.set(args.grant, { id: out.GrantId!, to: args.to });
  }

  async revokeGrant(args: { key: string; grant: string }): Promise<void> {
    const key = this.key(args.key);
    const grant = key.grants.get(args.grant);
    if (grant === undefined) throw new Error(`no grant named ${args.grant} on key ${args.key}`);
    await this.#kms(key.region).send(new RevokeGrantCommand({ KeyId: key.arn, GrantId: grant.id }));
    key.grants.delete(args.grant);
  }

  async disableKey(name: string): Promise<void> {
    const key = this.key(name);
    await this.#kms(key.region).send(new DisableKeyCommand({ KeyId: key.arn }));
  }

  async enableKey(name: string): Promise<void> {
    const key = this.key(name);
    await this.#kms(key.region).send(new EnableKeyCommand({ KeyId: key.arn }));
  }

  async scheduleKeyDeletion(args: { key: string; days: number }): Promise<void> {
    const key = this.key(args.key);
    await this.#kms(key.region).send(new ScheduleKeyDeletionCommand({ KeyId: key.arn, PendingWindowInDays: args.days }));
  }

  async cancelKeyDeletion(name: string): Promise<void> {
    const key = this.key(name);
    await this.#kms(key.region).send(new CancelKeyDeletionCommand({ KeyId: key.arn }));
  }

  async rotateKey(name: string): Promise<void> {
    const key = this.key(name);
    await this.#kms(key.region).send(new RotateKeyOnDemandCommand({ KeyId: key.arn }));
  }

  async enableKeyRotation(args: { key: string; periodDays: number }): Promise<void> {
    const key = this.key(args.key);
    await this.#kms(key.region).send(new EnableKeyRotationCommand({ KeyId: key.arn, RotationPeriodInDays: args.periodDays }));
  }

  close(): void {
    for (const c of this.#clients.values()) c.destroy();
    for (const m of this.#materials.values()) m.fill(0);
    this.#materials.clear();
  }
}
