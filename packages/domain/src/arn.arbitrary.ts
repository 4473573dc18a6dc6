import fc from 'fast-check';

/**
 * Hostile key ARN input for property tests, here and in the packages that validate keys:
 * valid key ARNs of every partition, and valid ones mutated the ways pasted text goes wrong.
 * Test only: imported as `@ekm/domain/arn-arbitrary`, never from `@ekm/domain`.
 */
const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const keyId = fc.oneof(fc.uuid().map((u) => u.toLowerCase()), hex(32).map((h) => `mrk-${h}`));
const partitionRegion = fc.oneof(
  fc.tuple(fc.constant('aws'), fc.constantFrom('us-east-1', 'eu-west-2', 'ap-southeast-1', 'sa-east-1', 'il-central-1')),
  fc.tuple(fc.constant('aws-cn'), fc.constantFrom('cn-north-1', 'cn-northwest-1')),
  fc.tuple(fc.constant('aws-us-gov'), fc.constantFrom('us-gov-west-1', 'us-gov-east-1')),
);
export const validArn = fc
  .tuple(partitionRegion, fc.stringMatching(/^\d{12}$/), keyId)
  .map(([[partition, region], account, id]) => `arn:${partition}:kms:${region}:${account}:key/${id}`);

export const WHITESPACE = [' ', '\t', '\n', '\r\n', '\u00a0', '\u2028', '\u200b', '\ufeff', '\u3000', '\v'];
const ODD = [':', '/', '-', '_', '*', '"', "'", ',', ';', '\u0000', '\u007f', 'é', 'İ', '🔑', '\ud800', 'K', '0', 'a', '%2F'];

export type Mutation = (arn: string) => string;
const at = (s: string, n: number) => (s.length === 0 ? 0 : n % (s.length + 1));
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // character edits
  fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...ODD), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }))).map(
    ([n, c]): Mutation => (s) => s.slice(0, at(s, n)) + c + s.slice(at(s, n)),
  ),
  fc.nat().map((n): Mutation => (s) => s.slice(0, at(s, n)) + s.slice(at(s, n) + 1)),
  fc.tuple(fc.nat(), fc.constantFrom(...ODD)).map(([n, c]): Mutation => (s) => s.slice(0, at(s, n)) + c + s.slice(at(s, n) + 1)),
  // truncations
  fc.nat().map((n): Mutation => (s) => s.slice(0, at(s, n))),
  fc.nat().map((n): Mutation => (s) => s.slice(at(s, n))),
  // case changes: all, one field, one character
  fc.constant<Mutation>((s) => s.toUpperCase()),
  fc.nat({ max: 6 }).map((i): Mutation => (s) => s.split(':').map((f, j) => (j === i ? f.toUpperCase() : f)).join(':')),
  fc.nat().map((n): Mutation => (s) => s.slice(0, at(s, n)) + s.charAt(at(s, n)).toUpperCase() + s.slice(at(s, n) + 1)),
  // inserted whitespace, inside or around
  fc.tuple(fc.nat(), fc.constantFrom(...WHITESPACE)).map(([n, w]): Mutation => (s) => s.slice(0, at(s, n)) + w + s.slice(at(s, n))),
  fc.tuple(fc.constantFrom(...WHITESPACE), fc.constantFrom(...WHITESPACE)).map(([a, b]): Mutation => (s) => `${a}${s}${b}`),
  // other partitions, services, regions, accounts, resources
  fc
    .tuple(
      fc.nat({ max: 6 }),
      fc.constantFrom(
        'aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b', 'azure', 'gcp', '', 'AWS',
        'kms', 's3', 'iam', 'secretsmanager', 'kms-fips', 'KMS', 'cloudhsm',
        'us-east-1', 'cn-north-1', 'us-gov-west-1', 'us-east-99', 'mars-1', 'global',
        '111122223333', '1111222233334', '11112222333', 'aws-managed',
        'alias/backup', 'key/', 'key/*', 'key', 'alias',
      ),
    )
    .map(([i, v]): Mutation => (s) => s.split(':').map((f, j) => (j === i ? v : f)).join(':')),
  fc.constantFrom<Mutation>(
    (s) => s.replace('key/', 'alias/'),
    (s) => s.replace('key/', ''),
    (s) => s.replace(/:/g, '/'),
    (s) => `${s}:extra`,
    (s) => `${s},${s}`,
    (s) => `${s} ${s}`,
    (s) => s.split(':').slice(-1)[0] ?? '',
    (s) => `https://${s}`,
    (s) => s.repeat(50),
    (s) => `${s}${'\u0000'.repeat(10)}`,
  ),
);

export const mutatedArn = fc.tuple(validArn, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([arn, ms]) => ms.reduce((s, m) => m(s), arn));

