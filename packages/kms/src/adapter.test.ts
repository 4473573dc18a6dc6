import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DecryptCommand,
  DependencyTimeoutException,
  DescribeKeyCommand,
  DisabledException,
  GenerateDataKeyCommand,
  IncorrectKeyException,
  InvalidArnException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  KeyUnavailableException,
  KMSClient,
  KMSInternalException,
  KMSInvalidStateException,
  LimitExceededException,
  NotFoundException,
  ReEncryptCommand,
  UnsupportedOperationException,
} from '@aws-sdk/client-kms';
import { FAILURES, type FailureCode } from '@ekm/domain';
import { classify } from './classify.ts';
import { ProviderFailure } from './failure-error.ts';
import { createKmsClient, kmsPort, MAX_ATTEMPTS } from './adapter.ts';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PROVIDER = '444455556666';
const meta = { $metadata: { httpStatusCode: 400 } };
const server = { $metadata: { httpStatusCode: 500 } };

const mapped = new KMSClient({ region: 'us-east-1' });
const kms = mockClient(mapped);
afterEach(() => kms.reset());

async function failureOf(run: () => Promise<unknown>) {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderFailure);
    return (error as ProviderFailure).failure;
  }
  throw new Error('expected a failure');
}

describe('kmsPort maps every SDK error to one domain failure, keeping its kind', () => {
  const port = kmsPort(mapped, PROVIDER);
  const decrypt = () => port.decrypt(ARN, new Uint8Array([1]), { tenant: 't-1', purpose: 'tenant-key' });

  const cases: [string, Error, FailureCode, RegExp][] = [
    ['[EKM-12] DisabledException', new DisabledException({ message: `${ARN} is disabled.`, ...meta }), 'KeyDisabled', /is disabled; enable it/],
    [
      '[EKM-12] AccessDeniedException',
      Object.assign(new Error('User is not authorized to perform: kms:Decrypt'), { name: 'AccessDeniedException', ...meta }),
      'KeyAccessDenied',
      new RegExp(`^The key policy or grants of the key ${ARN} do not allow account ${PROVIDER} to use kms:Decrypt\\.$`),
    ],
    [
      '[EKM-12] KMSInvalidStateException pending deletion',
      new KMSInvalidStateException({ message: `${ARN} is pending deletion.`, ...meta }),
      'KeyPendingDeletion',
      /scheduled for deletion/,
    ],
    [
      '[EKM-12] KMSInvalidStateException pending import',
      new KMSInvalidStateException({ message: `${ARN} is pending import.`, ...meta }),
      'KeyMaterialUnavailable',
      /re-import the same material/,
    ],
    [
      '[EKM-18] NotFoundException of a key that protected data',
      new NotFoundException({ message: `Key '${ARN}' does not exist`, ...meta }),
      'KeyDeleted',
      /no longer exists/,
    ],
    ['[EKM-20] InvalidCiphertextException', new InvalidCiphertextException({ message: '', ...meta }), 'DataTampered', /another tenant or purpose/],
    ['[EKM-20] IncorrectKeyException', new IncorrectKeyException({ message: '', ...meta }), 'DataTampered', /altered/],
    ['[EKM-05] InvalidKeyUsageException', new InvalidKeyUsageException({ message: '', ...meta }), 'UnsupportedKeyUsage', /ENCRYPT_DECRYPT/],
    ['[EKM-05] UnsupportedOperationException', new UnsupportedOperationException({ message: '', ...meta }), 'UnsupportedKeySpec', /symmetric encryption key/],
    ['[EKM-06] InvalidArnException', new InvalidArnException({ message: 'bad arn', ...meta }), 'InvalidKeyArn', /refused the key identifier/],
    ['ThrottlingException', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', ...meta }), 'KmsThrottled', /throttled kms:Decrypt/],
    [
      'LimitExceededException is a quota, not throttling',
      new LimitExceededException({ message: 'You have exceeded the rate of on-demand rotations', ...meta }),
      'KmsQuotaExceeded',
      new RegExp(
        `^AWS KMS refused kms:Decrypt for the key ${ARN}: a quota of the key or its account is reached \\(LimitExceededException: You have exceeded the rate of on-demand rotations\\)\\. Trying again does not help`,
      ),
    ],
    ['KeyUnavailableException', new KeyUnavailableException({ message: '', ...server }), 'KmsUnavailable', /try again in a few minutes/],
    ['KMSInternalException', new KMSInternalException({ message: '', ...server }), 'KmsUnavailable', /try again in a few minutes/],
    ['DependencyTimeoutException', new DependencyTimeoutException({ message: '', ...server }), 'KmsUnavailable', /try again in a few minutes/],
    [
      'an AWS error the classifier does not know is reported with its AWS code, not as unreachable',
      Object.assign(new Error('Custom key store is not connected'), { name: 'CustomKeyStoreInvalidStateException', $fault: 'client', ...meta }),
      'KmsRefused',
      new RegExp(`^AWS KMS refused kms:Decrypt for the key ${ARN} with CustomKeyStoreInvalidStateException: Custom key store is not connected\\.$`),
    ],
    [
      'an unknown AWS code without response metadata is still an AWS refusal',
      Object.assign(new Error('no'), { name: 'KMSBrandNewException' }),
      'KmsRefused',
      /with KMSBrandNewException: no/,
    ],
    ['an unknown 503', Object.assign(new Error('?'), { name: 'Whatever', $fault: 'server', $metadata: { httpStatusCode: 503 } }), 'KmsUnavailable', /Whatever/],
    ['a 429 without a known name', Object.assign(new Error('?'), { name: 'Unknown', $metadata: { httpStatusCode: 429 } }), 'KmsThrottled', /throttled/],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' }),
      'KmsUnavailable',
      /could not be reached \(ECONNREFUSED\); try again/,
    ],
  ];

  it('no KMS failure message promises a retry: nothing retries after the SDK', () => {
    for (const [, error] of cases) expect(classify(error).message).not.toMatch(/retried/);
  });

  it.each(cases)('%s', async (_, error, code, message) => {
    kms.on(DecryptCommand).rejects(error);
    const f = await failureOf(decrypt);
    expect(f.code).toBe(code);
    expect(f.kind).toBe(FAILURES[code].kind);
    expect(f.message).toMatch(message);
  });

  it('[EKM-06] NotFoundException while validating a new ARN is an input error, not a deletion', async () => {
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'nope', ...meta }));
    const f = await failureOf(() => port.describe(ARN));
    expect(f).toMatchObject({ code: 'KeyNotFound', kind: 'input', field: ARN });
  });

  it('[EKM-20] sends the key ARN and the encryption context with every Decrypt, GenerateDataKey and ReEncrypt', async () => {
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(32) });
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: new Uint8Array(32), CiphertextBlob: new Uint8Array(8) });
    kms.on(ReEncryptCommand).resolves({ CiphertextBlob: new Uint8Array(8) });
    const ctx = { tenant: 't-1', purpose: 'tenant-key' };
    await port.decrypt(ARN, new Uint8Array([1]), ctx);
    await port.generateDataKey(ARN, ctx);
    await port.reEncrypt(ARN, `${ARN}0`, new Uint8Array([1]), ctx);
    expect(kms.commandCalls(DecryptCommand)[0]?.args[0].input).toMatchObject({ KeyId: ARN, EncryptionContext: ctx });
    expect(kms.commandCalls(GenerateDataKeyCommand)[0]?.args[0].input).toMatchObject({ KeyId: ARN, KeySpec: 'AES_256', EncryptionContext: ctx });
    expect(kms.commandCalls(ReEncryptCommand)[0]?.args[0].input).toMatchObject({
      SourceKeyId: ARN,
      DestinationKeyId: `${ARN}0`,
      SourceEncryptionContext: ctx,
      DestinationEncryptionContext: ctx,
    });
  });

  it('[EKM-20] classify reports any Encryption SDK failure on a snapshot as DataTampered (permanent)', () => {
    const f = classify(new Error('Unsupported state or unable to authenticate data'), { snapshot: { tenant: 't-1', snapshot: 's-1' } });
    expect(f).toMatchObject({ code: 'DataTampered', kind: 'permanent' });
    expect(f.message).toBe('Snapshot s-1 of tenant t-1 failed its integrity check and was refused.');
  });

  it('classify passes a ProviderFailure through unchanged', () => {
    const e = new ProviderFailure({ code: 'KeyDisabled', kind: 'revocation', message: 'x' });
    expect(classify(e)).toBe(e.failure);
  });
});

/**
 * aws-sdk-client-mock replaces `send`, which skips the retry middleware; a fake HTTP
 * handler keeps the SDK's real standard retry strategy in the loop.
 */
function clientAnswering(status: number, type: string, options: { timeScale?: number } = {}) {
  const seen = { requests: 0 };
  const client = createKmsClient({ region: 'us-east-1', account: PROVIDER, endpoint: 'http://127.0.0.1:9', ...options });
  client.config.requestHandler = {
    handle: async () => {
      seen.requests += 1;
      const body = Readable.from([Buffer.from(JSON.stringify({ __type: type, message: `${type} from fake` }))]);
      return { response: { statusCode: status, reason: '', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type }, body } };
    },
    updateHttpClientConfig: () => {},
    httpHandlerConfigs: () => ({}),
  } as never;
  return { client, seen };
}

describe('retry: transient errors use the bounded standard retry, revocations are never retried', () => {
  const ctx = { tenant: 't-1', purpose: 'tenant-key' };

  it.each([
    [429, 'ThrottlingException', 'KmsThrottled'],
    [500, 'KMSInternalException', 'KmsUnavailable'],
    [500, 'KeyUnavailableException', 'KmsUnavailable'],
    [503, 'ServiceUnavailable', 'KmsUnavailable'],
  ])(
    `a %i %s is tried ${MAX_ATTEMPTS} times, then reported as %s`,
    async (status, type, code) => {
      const { client, seen } = clientAnswering(status, type);
      const f = await failureOf(() => kmsPort(client, PROVIDER).decrypt(ARN, new Uint8Array([1]), ctx));
      expect(f.code).toBe(code);
      expect(f.kind).toBe('transient');
      expect(seen.requests).toBe(MAX_ATTEMPTS);
    },
    20_000,
  );

  it('a 400 LimitExceededException (a quota) is sent once, not retried as throttling, and reported as KmsQuotaExceeded', async () => {
    const { client, seen } = clientAnswering(400, 'LimitExceededException');
    const f = await failureOf(() => kmsPort(client, PROVIDER).decrypt(ARN, new Uint8Array([1]), ctx));
    expect(f).toMatchObject({ code: 'KmsQuotaExceeded', kind: 'permanent', field: ARN });
    expect(f.message).toContain('LimitExceededException: LimitExceededException from fake');
    expect(seen.requests).toBe(1);
  });

  it.each([
    ['DisabledException', 'KeyDisabled'],
    ['AccessDeniedException', 'KeyAccessDenied'],
    ['KMSInvalidStateException', 'KeyDisabled'],
    ['InvalidCiphertextException', 'DataTampered'],
    ['NotFoundException', 'KeyDeleted'],
  ])('[EKM-12] a 400 %s is sent once and reported as %s', async (type, code) => {
    const { client, seen } = clientAnswering(400, type);
    const f = await failureOf(() => kmsPort(client, PROVIDER).decrypt(ARN, new Uint8Array([1]), ctx));
    expect(f.code).toBe(code);
    expect(seen.requests).toBe(1);
  });
});

describe('timeScale: every wait of the client shrinks by one factor, the retry decisions stay', () => {
  const ctx = { tenant: 't-1', purpose: 'tenant-key' };

  it('a throttled call is still tried MAX_ATTEMPTS times, its back-off (AWS base 1 s for throttling) scaled down', async () => {
    const { client, seen } = clientAnswering(429, 'ThrottlingException', { timeScale: 0.01 });
    const t0 = performance.now();
    const f = await failureOf(() => kmsPort(client, PROVIDER).decrypt(ARN, new Uint8Array([1]), ctx));
    expect(f.code).toBe('KmsThrottled');
    expect(seen.requests).toBe(MAX_ATTEMPTS);
    // Unscaled, the two waits are up to 1 s and 2 s; at 0.01 at most 10 + 20 ms.
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('a hung KMS outlasts the scaled request timeout: each attempt times out, and the call fails as KmsUnavailable', async () => {
    const hung = new Set<ServerResponse>();
    const server = createServer((_req, res) => void hung.add(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // 0.1, not less: at 0.02 the scaled 60 ms connection timeout could expire on a loaded machine
      // before a request reached the server (regression: CI saw 2 of 3 attempts arrive).
      const client = createKmsClient({ region: 'us-east-1', account: PROVIDER, endpoint, requestTimeoutMs: 10_000, timeScale: 0.1 });
      const t0 = performance.now();
      const f = await failureOf(() => kmsPort(client, PROVIDER).decrypt(ARN, new Uint8Array([1]), ctx));
      const took = performance.now() - t0;
      expect(f).toMatchObject({ code: 'KmsUnavailable', kind: 'transient' });
      expect(hung.size).toBe(MAX_ATTEMPTS);
      // 3 attempts of 1 s each (10 s x 0.1), plus scaled back-offs: not 30 s.
      expect(took).toBeGreaterThanOrEqual(MAX_ATTEMPTS * 1_000 - 50);
      expect(took).toBeLessThan(12_000);
    } finally {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('EKM_TIME_SCALE is the default factor; an option wins; a factor outside (0, 1] is refused', async () => {
    const saved = process.env['EKM_TIME_SCALE'];
    try {
      process.env['EKM_TIME_SCALE'] = '0.01';
      const { client, seen } = clientAnswering(429, 'ThrottlingException');
      const t0 = performance.now();
      await failureOf(() => kmsPort(client, PROVIDER).decrypt(ARN, new Uint8Array([1]), ctx));
      expect(seen.requests).toBe(MAX_ATTEMPTS);
      expect(performance.now() - t0).toBeLessThan(500);
      expect(() => createKmsClient({ region: 'us-east-1', timeScale: 0 })).toThrow(RangeError);
      expect(() => createKmsClient({ region: 'us-east-1', timeScale: 2 })).toThrow(RangeError);
    } finally {
      if (saved === undefined) delete process.env['EKM_TIME_SCALE'];
      else process.env['EKM_TIME_SCALE'] = saved;
    }
  });
});
