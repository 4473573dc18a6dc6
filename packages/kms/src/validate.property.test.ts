import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DecryptCommand, DescribeKeyCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { FAILURES } from '@ekm/domain';
import { parseKeyArn } from './arn.ts';
import { mutatedArn, mutation, validArn } from '@ekm/domain/arn-arbitrary';
import { kmsPort } from './adapter.ts';
import { MemoryKms } from '../testing/memory-kms.ts';
import { validateKey, type Validation } from './validate.ts';

/** 1,000 cases each in CI (CI set), fewer locally; FC_NUM_RUNS overrides both. */
const params = { numRuns: Number(process.env['FC_NUM_RUNS'] ?? (process.env['CI'] ? 1000 : 200)) };
const regions = ['us-east-1'];
/** 1,000 validations take about two seconds alone; the CI machine is shared. */
const TIMEOUT = 60_000;

/** Every answer is ok with no findings, or refused with typed findings that each say something. */
function wellFormed(v: Validation): void {
  if (v.ok) {
    expect(v.findings).toEqual([]);
    expect(v.arn).toBeDefined();
    return;
  }
  expect(v.findings.length).toBeGreaterThan(0);
  for (const f of v.findings) {
    expect(Object.hasOwn(FAILURES, f.code), f.code).toBe(true);
    expect(f.kind).toBe(FAILURES[f.code].kind);
    expect(f.message.trim().length, f.code).toBeGreaterThan(10);
    expect(f.message).not.toMatch(/\[object |undefined/);
  }
}

async function validated(port: Parameters<typeof validateKey>[0], input: string): Promise<Validation> {
  try {
    return await validateKey(port, input, { regions });
  } catch (error) {
    throw new Error(`validateKey threw for ${JSON.stringify(input).slice(0, 200)}: ${String(error)}`);
  }
}

describe('validateKey with hostile ARN input (property, in-memory KMS)', () => {
  const kms = new MemoryKms('444455556666');
  const real = kms.createKey('111122223333');
  const mutatedReal = fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce((s, m) => m(s), real));
  const input = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), validArn, mutatedArn, mutatedReal, fc.constant(real));

  it(
    '[EKM-03][EKM-06] never throws; every refusal is typed and says why; a malformed ARN is refused without a KMS call',
    async () => {
      await fc.assert(
        fc.asyncProperty(input, async (text) => {
          const calls = kms.calls.length;
          const v = await validated(kms, text);
          wellFormed(v);
          const parsed = parseKeyArn(text);
          if (!parsed.ok) {
            expect(v.findings).toEqual([parsed.failure]);
            expect(kms.calls.length).toBe(calls);
          } else {
            // Only the one real key can pass, and only when the text names it.
            expect(v.ok).toBe(parsed.arn.arn === real);
          }
        }),
        params,
      );
    },
    TIMEOUT,
  );
});

describe('validateKey against a KMS that answers anything (property, aws-sdk-client-mock)', () => {
  const client = new KMSClient({ region: 'us-east-1' });
  const mock = mockClient(client);
  const port = kmsPort(client, '444455556666');
  afterEach(() => mock.reset());

  const ERROR_NAMES = [
    'NotFoundException',
    'DisabledException',
    'KMSInvalidStateException',
    'AccessDeniedException',
    'ThrottlingException',
    'InvalidArnException',
    'ValidationException',
    'InvalidKeyUsageException',
    'UnsupportedOperationException',
    'InvalidCiphertextException',
    'IncorrectKeyException',
    'KeyUnavailableException',
    'DependencyTimeoutException',
    'KMSInternalException',
    'UnrecognizedClientException',
    'ExpiredTokenException',
    'TimeoutError',
    'ECONNRESET',
    'TypeError',
    '',
  ];
  const sdkError = fc
    .tuple(fc.constantFrom(...ERROR_NAMES), fc.string({ maxLength: 60 }), fc.option(fc.constantFrom(400, 403, 404, 429, 500, 502, 503)))
    .map(([name, message, status]) => Object.assign(new Error(message), { name, ...(status === null ? {} : { $metadata: { httpStatusCode: status } }) }));
  const notAnError = fc.constantFrom<unknown>('boom', null, undefined, 42, { name: 7 }, { $metadata: 'x' });
  const rejection = fc.oneof(sdkError, notAnError).map((e) => ({ reject: e }));
  const text = fc.oneof(
    fc.constantFrom(
      'Enabled',
      'Disabled',
      'PendingDeletion',
      'PendingImport',
      'Unavailable',
      'Creating',
      'SYMMETRIC_DEFAULT',
      'RSA_2048',
      'HMAC_256',
      'ENCRYPT_DECRYPT',
      'SIGN_VERIFY',
      'AWS_KMS',
      'EXTERNAL',
      'AWS_CLOUDHSM',
    ),
    fc.string({ maxLength: 20 }),
  );
  const metadata = fc.record(
    {
      Arn: fc.oneof(validArn, fc.string({ maxLength: 40 })),
      KeyState: text,
      KeySpec: text,
      KeyUsage: text,
      Origin: text,
      MultiRegion: fc.boolean(),
      AWSAccountId: fc.string({ maxLength: 14 }),
    },
    { requiredKeys: [] },
  );
  const bytes = fc.uint8Array({ minLength: 0, maxLength: 40 });
  const describeAnswer = fc.oneof(
    rejection,
    fc.record({
      resolve: fc.oneof(
        fc.constant({}),
        metadata.map((KeyMetadata) => ({ KeyMetadata })),
      ),
    }),
  );
  const generateAnswer = fc.oneof(rejection, fc.record({ resolve: fc.record({ Plaintext: bytes, CiphertextBlob: bytes }, { requiredKeys: [] }) }));
  // 'same' echoes what GenerateDataKey returned: the honest answer, so that some cases pass.
  const decryptAnswer = fc.oneof(rejection, fc.constant({ same: true }), fc.record({ resolve: fc.record({ Plaintext: bytes }, { requiredKeys: [] }) }));
  type Answer = { reject: unknown } | { resolve: object } | { same: true };

  const answer = (a: Answer, same?: () => object): Promise<object> => {
    if ('reject' in a) return Promise.reject(a.reject);
    if ('same' in a) return Promise.resolve(same!());
    // The SDK hands out fresh buffers; the port zeroes what it is given.
    return Promise.resolve(structuredClone(a.resolve));
  };

  it(
    '[EKM-06] never throws, whatever KMS answers (errors of any name, non-errors, missing or odd fields), and every refusal is typed',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(validArn, mutatedArn), describeAnswer, generateAnswer, decryptAnswer, async (input, d, g, x) => {
          mock.reset();
          let generated: Uint8Array | undefined;
          mock.on(DescribeKeyCommand).callsFake(() => answer(d));
          mock.on(GenerateDataKeyCommand).callsFake(async () => {
            const out = (await answer(g)) as { Plaintext?: Uint8Array };
            generated = out.Plaintext === undefined ? undefined : Uint8Array.from(out.Plaintext);
            return out;
          });
          mock.on(DecryptCommand).callsFake(() => answer(x, () => ({ Plaintext: generated === undefined ? undefined : Uint8Array.from(generated) })));
          wellFormed(await validated(port, input));
        }),
        params,
      );
    },
    TIMEOUT,
  );
});
