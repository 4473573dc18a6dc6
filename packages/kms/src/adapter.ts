import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { failure } from '@ekm/domain';
import { classify, QUOTA_ERRORS, type CallContext } from './classify.ts';
import { ProviderFailure } from './failure-error.ts';
import type { EncryptionContext, KeyDescription, KeyPort } from './port.ts';
import { noteKeyMaterial } from './observe.ts';

/**
 * Retry budget for transient errors (throttling, 5xx, timeouts). The SDK's standard
 * strategy retries only those, with exponential backoff and a shared retry-token
 * bucket; client errors such as DisabledException or AccessDeniedException are never
 * retried, so a revocation costs exactly one call.
 */
export const MAX_ATTEMPTS = 3;

export interface KmsClientOptions {
  readonly endpoint?: string;
  readonly region: string;
  /**
   * The caller's credentials, as its environment gives them (for the reference provider:
   * `Environment.kms.credentials`). Default: the AWS SDK's own chain (environment, profile, role).
   */
  readonly credentials?: AwsCredentials;
  /**
   * @deprecated LocalStack's convention of a 12-digit access key id naming the account; pass
   * `credentials` (e.g. `localstackCredentials(account)` from `@ekm/kms/testing`) instead. Kept for
   * callers outside this package until they move (@ekm/scenario-runner's admin, the CLI's doctor).
   */
  readonly account?: string;
  readonly maxAttempts?: number;
  /** Per attempt; a KMS that hangs is a transient failure, not a stuck workflow. Default 10 s. */
  readonly requestTimeoutMs?: number;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A KMS client with the standard retry mode and a bounded budget. */
export function createKmsClient(options: KmsClientOptions): KMSClient {
  const client = new KMSClient({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials !== undefined
      ? { credentials: options.credentials }
      : options.account !== undefined
        ? { credentials: { accessKeyId: options.account, secretAccessKey: 'test' } }
        : {}),
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? MAX_ATTEMPTS,
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: 3_000 },
  });
  // The SDK counts LimitExceededException as throttling and retries it; for KMS it is a quota
  // (e.g. on-demand rotations), which no retry can help. The standard strategy stays in charge of
  // everything else; for a quota error it is not asked, and the SDK error is thrown as it came.
  const config = client.config as { retryStrategy: () => Promise<unknown> };
  const standard = config.retryStrategy;
  config.retryStrategy = async () => quotaNotRetried(await standard());
  return client;
}

interface RetryStrategyV2 {
  acquireInitialRetryToken(scope: string): Promise<unknown>;
  refreshRetryTokenForRetry(token: unknown, info: { error?: { name?: unknown } }): Promise<unknown>;
  recordSuccess(token: unknown): void;
}

function quotaNotRetried(strategy: unknown): unknown {
  const s = strategy as Partial<RetryStrategyV2>;
  if (typeof s.refreshRetryTokenForRetry !== 'function' || typeof s.acquireInitialRetryToken !== 'function' || typeof s.recordSuccess !== 'function')
    return strategy;
  const v2 = strategy as RetryStrategyV2;
  return {
    acquireInitialRetryToken: (scope: string) => v2.acquireInitialRetryToken(scope),
    refreshRetryTokenForRetry: (token: unknown, info: { error?: { name?: unknown } }) => {
      const name = info.error?.name;
      // A rejected refresh makes the retry middleware throw the error it has, unchanged.
      return typeof name === 'string' && QUOTA_ERRORS.has(name) ? Promise.reject(info.error) : v2.refreshRetryTokenForRetry(token, info);
    },
    recordSuccess: (token: unknown) => v2.recordSuccess(token),
  } satisfies RetryStrategyV2;
}

/** The KeyPort over `@aws-sdk/client-kms`: the one boundary where SDK errors become domain Failures. */
export function kmsPort(client: KMSClient, account: string): KeyPort {
  async function call<T>(ctx: CallContext, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new ProviderFailure(classify(error, { ...ctx, account }), { cause: error });
    }
  }
  const bytes = (value: Uint8Array | undefined, what: string): Uint8Array => {
    if (value === undefined) throw new ProviderFailure(failure('KmsUnavailable', `AWS KMS returned no ${what}.`));
    return value;
  };
  const ec = (context: EncryptionContext): Record<string, string> => ({ ...context });

  return {
    account,
    describe: (keyArn) =>
      call({ operation: 'DescribeKey', keyArn }, async () => {
        const out = await client.send(new DescribeKeyCommand({ KeyId: keyArn }));
        const m = out.KeyMetadata;
        if (m === undefined) throw new ProviderFailure(failure('KmsUnavailable', 'AWS KMS returned no key metadata.'));
        const d: KeyDescription = {
          arn: m.Arn ?? keyArn,
          account: m.AWSAccountId ?? '',
          state: m.KeyState ?? 'Unknown',
          keySpec: m.KeySpec ?? m.CustomerMasterKeySpec ?? 'Unknown',
          keyUsage: m.KeyUsage ?? 'Unknown',
          origin: m.Origin ?? 'Unknown',
          multiRegion: m.MultiRegion ?? false,
          ...(m.ValidTo === undefined ? {} : { validTo: m.ValidTo }),
        };
        return d;
      }),
    generateDataKey: (keyArn, context) =>
      call({ operation: 'GenerateDataKey', keyArn }, async () => {
        const out = await client.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: ec(context) }));
        const plaintext = bytes(out.Plaintext, 'plaintext');
        noteKeyMaterial(plaintext, 'tenant-key');
        return { plaintext, ciphertext: bytes(out.CiphertextBlob, 'ciphertext') };
      }),
    encrypt: (keyArn, plaintext, context) =>
      call({ operation: 'Encrypt', keyArn }, async () => {
        const out = await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: plaintext, EncryptionContext: ec(context) }));
        return bytes(out.CiphertextBlob, 'ciphertext');
      }),
    decrypt: (keyArn, ciphertext, context) =>
      // keyKnown: data exists under this key, so "not found" means the key was destroyed (EKM-18).
      call({ operation: 'Decrypt', keyArn, keyKnown: true }, async () => {
        // Naming the key makes KMS refuse a ciphertext that another key produced.
        const out = await client.send(new DecryptCommand({ KeyId: keyArn, CiphertextBlob: ciphertext, EncryptionContext: ec(context) }));
        const plaintext = bytes(out.Plaintext, 'plaintext');
        noteKeyMaterial(plaintext, 'tenant-key');
        return plaintext;
      }),
    reEncrypt: (fromKeyArn, toKeyArn, ciphertext, context) =>
      call({ operation: 'ReEncrypt', keyArn: fromKeyArn, keyKnown: true }, async () => {
        const out = await client.send(
          new ReEncryptCommand({
            CiphertextBlob: ciphertext,
            SourceKeyId: fromKeyArn,
            SourceEncryptionContext: ec(context),
            DestinationKeyId: toKeyArn,
            DestinationEncryptionContext: ec(context),
          }),
        );
        return bytes(out.CiphertextBlob, 'ciphertext');
      }),
  };
}
