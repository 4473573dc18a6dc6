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
  /** Per attempt; a KMS that hangs is a transient failure, not a stuck workflow. Default 10 s (before `timeScale`). */
  readonly requestTimeoutMs?: number;
  /**
   * Multiplies every wait of the client: the request and connection timeouts and the retry
   * back-off delays. 1 (real time) unless given, or unless the environment variable
   * `EKM_TIME_SCALE` says otherwise. A test harness whose faults run at a fraction of real time
   * (the KMS gateway's toxics, with the same factor) sets it, so that a hang still outlasts the
   * client's timeout and a throttle storm still exhausts the retries, in proportion, without
   * costing real seconds. The decisions (what is retried, how many times) do not change.
   */
  readonly timeScale?: number;
}

/** AWS's standard retry mode: exponential back-off with full jitter, capped at 20 s. */
const MAX_BACKOFF_MS = 20_000;

/** `EKM_TIME_SCALE` when it is a number in (0, 1]; otherwise 1. */
function timeScaleFromEnv(env: Record<string, string | undefined> = process.env): number {
  const scale = Number(env['EKM_TIME_SCALE']);
  return scale > 0 && scale <= 1 ? scale : 1;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A KMS client with the standard retry mode and a bounded budget. */
export function createKmsClient(options: KmsClientOptions): KMSClient {
  const scale = options.timeScale ?? timeScaleFromEnv();
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`timeScale must be in (0, 1], got ${scale}`);
  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  const client = new KMSClient({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials !== undefined
      ? { credentials: options.credentials }
      : options.account !== undefined
        ? { credentials: { accessKeyId: options.account, secretAccessKey: 'test' } }
        : {}),
    retryMode: 'standard',
    maxAttempts,
    requestHandler: {
      requestTimeout: Math.ceil((options.requestTimeoutMs ?? 10_000) * scale),
      // Without it the SDK's node handler only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
      connectionTimeout: Math.ceil(3_000 * scale),
    },
  });
  // The SDK counts LimitExceededException as throttling and retries it; for KMS it is a quota
  // (e.g. on-demand rotations), which no retry can help. The standard strategy stays in charge of
  // everything else; for a quota error it is not asked, and the SDK error is thrown as it came.
  const config = client.config as { retryStrategy: () => Promise<unknown> };
  const standard = config.retryStrategy;
  let strategy: Promise<unknown> | undefined;
  config.retryStrategy = () => (strategy ??= standard().then((s) => quotaNotRetried(scale === 1 ? s : scaledBackoff(s, maxAttempts, scale))));
  return client;
}

/**
 * The SDK's own standard strategy (same retry decisions, same retry-token bucket), built again
 * through its constructor with a back-off whose delays are `scale` times AWS's: a random fraction of
 * min(base x 2^attempt, 20 s), the base being the SDK's own for the error (its throttling base
 * for throttling). "Retry behavior", AWS SDKs and Tools Reference Guide:
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 * If the strategy is not one this can rebuild, it is kept unscaled (slower, never wrong).
 */
function scaledBackoff(strategy: unknown, maxAttempts: number, scale: number): unknown {
  const Standard = (strategy as { constructor?: unknown }).constructor;
  if (typeof Standard !== 'function' || (strategy as { mode?: unknown }).mode !== 'standard') return strategy;
  let base = 0;
  const backoff = {
    setDelayBase: (delay: number) => {
      base = delay;
    },
    computeNextBackoffDelay: (attempt: number) => Math.floor(Math.random() * Math.min(base * 2 ** attempt, MAX_BACKOFF_MS) * scale),
  };
  return new (Standard as new (o: { maxAttempts: number; backoff: typeof backoff }) => unknown)({ maxAttempts, backoff });
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
