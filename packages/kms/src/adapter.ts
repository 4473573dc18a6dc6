import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { failure } from '@ekm/domain';
import { classify, KmsError, QUOTA_ERRORS, type CallContext } from './classify.ts';
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
   * The caller's 12-digit account. LocalStack (and the gateway) take the account from
   * a 12-digit access key id, so it doubles as the access key id here.
   */
  readonly account: string;
  readonly maxAttempts?: number;
  /** Per attempt; a KMS that hangs is a transient failure, not a stuck workflow. Default 10 s. */
  readonly requestTimeoutMs?: number;
}

/** A KMS client for LocalStack or the gateway, with the standard retry mode and a bounded budget. */
export function createKmsClient(options: KmsClientOptions): KMSClient {
  const client = new KMSClient({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    credentials: { accessKeyId: options.account, secretAccessKey: 'test' },
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? MAX_ATTEMPTS,
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: 3_000 },
  });
  // The SDK counts LimitExceededException as throttling and retries it; for KMS it is a quota
  // (e.g. on-demand rotations), which no retry can help. Inside the retry middleware, such an
  // error leaves as a KmsError (no AWS code, no status), which the retry strategy does not retry.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const name = (error as { name?: unknown } | null)?.name;
        if (typeof name !== 'string' || !QUOTA_ERRORS.has(name)) throw error;
        const operation = context.commandName?.replace(/Command$/, '');
        throw new KmsError(classify(error, operation === undefined ? {} : { operation }), { cause: error });
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'ekmQuotaIsNotThrottling' },
  );
  return client;
}

/** The KeyPort over `@aws-sdk/client-kms`: the one boundary where SDK errors become domain Failures. */
export function kmsPort(client: KMSClient, account: string): KeyPort {
  async function call<T>(ctx: CallContext, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      // A KmsError from the quota middleware carries the SDK error: classify that, with this call's key and account.
      const sdk = error instanceof KmsError && error.cause !== undefined ? error.cause : error;
      throw new KmsError(classify(sdk, { ...ctx, account }), { cause: sdk });
    }
  }
  const bytes = (value: Uint8Array | undefined, what: string): Uint8Array => {
    if (value === undefined) throw new KmsError(failure('KmsUnavailable', `AWS KMS returned no ${what}.`));
    return value;
  };
  const ec = (context: EncryptionContext): Record<string, string> => ({ ...context });

  return {
    account,
    describe: (keyArn) =>
      call({ operation: 'DescribeKey', keyArn }, async () => {
        const out = await client.send(new DescribeKeyCommand({ KeyId: keyArn }));
        const m = out.KeyMetadata;
        if (m === undefined) throw new KmsError(failure('KmsUnavailable', 'AWS KMS returned no key metadata.'));
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
        const out = await client.send(
          new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: ec(context) }),
        );
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
