import { spawn } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
// Brings the type of inject('localstackEndpoint') into the int tests.
import type {} from '@ekm/localstack/vitest-setup';
import {
  CancelKeyDeletionCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DeleteImportedKeyMaterialCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  PutKeyPolicyCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
} from '@aws-sdk/client-kms';
import {
  compareDirectories,
  createGraphServer,
  createMockTenant,
  generateTenant,
  type DirectoryState,
  type GraphServer,
  type MockTenant,
  type TenantSpec,
} from '@ekm/entra-mock';
import { startKmsGateway, type KmsGateway } from '@ekm/kms-gateway';
import { createKmsClient } from '@ekm/kms';
import { localstackCredentials } from '@ekm/kms/testing';
import { createS3Client } from '../../src/bucket.ts';
import type { ChildInput } from './kill-child.ts';
import { Provider, type ProviderOptions } from '../../src/provider.ts';

export const REGION = 'us-east-1';

/** A fresh 12-digit account id, so that test files and scenarios never share an account. */
export function accountId(): string {
  return `${randomInt(1, 10)}${String(randomInt(0, 1e11)).padStart(11, '0')}`;
}

/**
 * The customer's side: key administration in the customer's own account, through the
 * gateway (which takes the account from the 12-digit access key id).
 */
export class Customer {
  readonly account: string;
  readonly #kms: KMSClient;
  readonly #provider: string;

  constructor(endpoint: string, account: string, providerAccount: string) {
    this.account = account;
    this.#provider = providerAccount;
    this.#kms = createKmsClient({ endpoint, region: REGION, credentials: localstackCredentials(account), maxAttempts: 1 });
  }

  /** The key policy the article asks for: the owner administers, the provider's account uses the key. */
  policy(allowProvider = true): string {
    return JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Owner', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${this.account}:root` }, Action: 'kms:*', Resource: '*' },
        ...(allowProvider
          ? [
              {
                Sid: 'Provider',
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${this.#provider}:root` },
                Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
                Resource: '*',
              },
            ]
          : []),
      ],
    });
  }

  async createKey(options: { spec?: KeySpec; usage?: KeyUsageType; external?: boolean; multiRegion?: boolean; allowProvider?: boolean } = {}): Promise<string> {
    const out = await this.#kms.send(
      new CreateKeyCommand({
        KeySpec: options.spec ?? 'SYMMETRIC_DEFAULT',
        KeyUsage: options.usage ?? 'ENCRYPT_DECRYPT',
        ...(options.external === true ? { Origin: 'EXTERNAL' } : {}),
        ...(options.multiRegion === true ? { MultiRegion: true } : {}),
        Policy: this.policy(options.allowProvider ?? true),
      }),
    );
    return out.KeyMetadata!.Arn!;
  }

  /** Imports 256 bits of material wrapped for KMS; the material is returned only for re-import (EKM-13). */
  async importMaterial(arn: string, material: Uint8Array = randomBytes(32), validTo?: Date): Promise<Uint8Array> {
    const params = await this.#kms.send(
      new GetParametersForImportCommand({ KeyId: arn, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }),
    );
    const wrapped = publicEncrypt(
      {
        key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
      },
      material,
    );
    await this.#kms.send(
      new ImportKeyMaterialCommand({
        KeyId: arn,
        ImportToken: params.ImportToken!,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: validTo === undefined ? 'KEY_MATERIAL_DOES_NOT_EXPIRE' : 'KEY_MATERIAL_EXPIRES',
        ...(validTo === undefined ? {} : { ValidTo: validTo }),
      }),
    );
    return material;
  }

  deleteMaterial = (arn: string) => this.#kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: arn }));
  disable = (arn: string) => this.#kms.send(new DisableKeyCommand({ KeyId: arn }));
  enable = (arn: string) => this.#kms.send(new EnableKeyCommand({ KeyId: arn }));
  rotate = (arn: string) => this.#kms.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
  scheduleDeletion = (arn: string, days = 7) => this.#kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: days }));
  cancelDeletion = (arn: string) => this.#kms.send(new CancelKeyDeletionCommand({ KeyId: arn }));
  denyProvider = (arn: string) => this.#kms.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: this.policy(false) }));
  allowProvider = (arn: string) => this.#kms.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: this.policy(true) }));

  /** A grant is the other way to let the provider use a key whose policy does not name it. */
  async grantProvider(arn: string): Promise<string> {
    const out = await this.#kms.send(
      new CreateGrantCommand({
        KeyId: arn,
        GranteePrincipal: `arn:aws:iam::${this.#provider}:root`,
        Operations: ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'DescribeKey'],
      }),
    );
    return out.GrantId!;
  }

  revokeGrant = (arn: string, grantId: string) => this.#kms.send(new RevokeGrantCommand({ KeyId: arn, GrantId: grantId }));
}

export interface World {
  readonly gateway: KmsGateway;
  readonly graph: GraphServer;
  readonly providerAccount: string;
  readonly provider: Provider;
  readonly options: ProviderOptions;
  /** A new product account with its own customer AWS account and a seeded tenant. */
  customerAccount(users?: number): Promise<{ accountId: string; customer: Customer; tenant: MockTenant; spec: TenantSpec }>;
  /** A provider process started again on the same bucket (as after a crash). */
  reopen(overrides?: Partial<ProviderOptions>): Promise<Provider>;
  close(): Promise<void>;
}

let seed = 1;

export async function startWorld(localstackEndpoint: string, overrides: Partial<ProviderOptions> = {}): Promise<World> {
  const gateway = await startKmsGateway({ localstackEndpoint });
  const graph = createGraphServer();
  graph.listen();
  const providerAccount = accountId();
  const options: ProviderOptions = {
    accountId: providerAccount,
    region: REGION,
    kmsEndpoint: gateway.endpoint,
    kmsCredentials: localstackCredentials(providerAccount),
    s3Endpoint: localstackEndpoint,
    s3Credentials: localstackCredentials(providerAccount),
    graph: { sleep: async () => {} },
    ...overrides,
  };
  const provider = await Provider.open(options);
  const buckets: string[] = [`ekm-backups-${providerAccount}`];
  return {
    gateway,
    graph,
    providerAccount,
    provider,
    options,
    async customerAccount(users = 12) {
      const account = accountId();
      const spec: TenantSpec = { seed: seed++, referenceDate: new Date('2026-01-01T00:00:00Z'), users };
      const state = generateTenant(spec);
      const tenant = createMockTenant(state);
      graph.addTenant(tenant);
      const productAccount = `acct-${account}`;
      await provider.addAccount({
        accountId: productAccount,
        tenants: [{ tenantId: tenant.tenantId, clientId: tenant.clientId, clientSecret: tenant.clientSecret }],
      });
      return { accountId: productAccount, customer: new Customer(gateway.endpoint, account, providerAccount), tenant, spec };
    },
    reopen: (o = {}) => Provider.open({ ...options, ...o }),
    async close() {
      graph.close();
      await gateway.close();
      await removeBuckets(localstackEndpoint, providerAccount, buckets);
    },
  };
}

/** Leaves LocalStack as found: the provider's buckets and everything in them go. */
export async function removeBuckets(localstackEndpoint: string, providerAccount: string, buckets: readonly string[]): Promise<void> {
  const s3 = createS3Client({ endpoint: localstackEndpoint, region: REGION, credentials: localstackCredentials(providerAccount) });
  const { ListObjectsV2Command, DeleteObjectsCommand, DeleteBucketCommand } = await import('@aws-sdk/client-s3');
  try {
    for (const bucket of buckets) {
      for (;;) {
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (listed.Contents ?? []).map((c) => ({ Key: c.Key! }));
        if (keys.length === 0) break;
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      }
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    }
  } finally {
    s3.destroy();
  }
}

/**
 * Runs a provider process that SIGKILLs itself at the crash point `input` names
 * (kill-child.ts). Resolves with how it ended; a child that never hit the point exits 3.
 */
export function killProvider(input: ChildInput): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
  // Functions (hooks, sleep) do not cross the process boundary; the child sets its own.
  const options = JSON.parse(JSON.stringify(input.options)) as ProviderOptions;
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      // No tsx compile cache in the system temp folder: the tests leave nothing behind.
      env: { ...process.env, TSX_DISABLE_CACHE: '1', EKM_KILL_CHILD: JSON.stringify({ ...input, options }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/**
 * Restores every complete snapshot of a tenant in turn (after changing the tenant, so a
 * restore that does nothing shows) and says, per snapshot id, what differs from the state
 * it was taken of: `[]` when it restored exactly, a failure code when it did not restore,
 * `unexpected` for a complete-looking snapshot nobody took.
 */
export async function restoreEach(
  provider: Provider,
  accountId: string,
  tenant: MockTenant,
  expected: ReadonlyMap<string, DirectoryState>,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const m of await provider.snapshots(accountId, tenant.tenantId)) {
    const want = expected.get(m.id);
    if (want === undefined) {
      out[m.id] = 'unexpected';
      continue;
    }
    const user = tenant.directory.state().objects.user[0];
    if (user !== undefined) tenant.directory.update('user', user.id, { displayName: `changed before restoring ${m.id}` });
    const r = await provider.restore(accountId, { tenantId: tenant.tenantId, snapshotId: m.id });
    out[m.id] = r.ok ? compareDirectories(want, tenant.directory.state()) : r.failure.code;
  }
  return out;
}

/** What restoreEach gives when every expected snapshot is listed and restores exactly. */
export function allRestored(expected: ReadonlyMap<string, DirectoryState>): Record<string, unknown> {
  return Object.fromEntries([...expected.keys()].map((id) => [id, []]));
}
