// Generators for the domain's property tests. Not exported from the package: fast-check is a
// dev dependency only.
import fc from 'fast-check';
import { decide, initialAccount, type AccountState, type Command } from './account.ts';
import type { KeyCommand } from './key.ts';

export const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 1000);

const account = '444455556666';
export const ARN = {
  symmetric: `arn:aws:kms:eu-west-1:${account}:key/11111111-1111-4111-8111-111111111111`,
  second: `arn:aws:kms:eu-west-1:${account}:key/22222222-2222-4222-8222-222222222222`,
  external: `arn:aws:kms:eu-west-1:${account}:key/33333333-3333-4333-8333-333333333333`,
  multiRegion: `arn:aws:kms:eu-west-1:${account}:key/mrk-0123456789abcdef0123456789abcdef`,
  rsa: `arn:aws:kms:eu-west-1:${account}:key/44444444-4444-4444-8444-444444444444`,
  hmac: `arn:aws:kms:eu-west-1:${account}:key/55555555-5555-4555-8555-555555555555`,
  unknown: `arn:aws:kms:eu-west-1:${account}:key/66666666-6666-4666-8666-666666666666`,
  later: `arn:aws:kms:eu-west-1:${account}:key/77777777-7777-4777-8777-777777777777`,
} as const;

export const BAD_INPUTS = [
  `arn:aws:kms:eu-west-1:${account}:alias/backup`,
  'https://contoso.vault.azure.net/keys/backup/0123456789abcdef0123456789abcdef',
  'projects/p/locations/global/keyRings/r/cryptoKeys/k',
  'arn:aws:s3:::my-bucket',
  'not an arn',
] as const;

export function freshAccount(): AccountState {
  return initialAccount({
    tenantId: 'contoso',
    providerAccountId: '111122223333',
    keys: {
      [ARN.symmetric]: {},
      [ARN.second]: {},
      [ARN.external]: { origin: 'EXTERNAL' },
      [ARN.multiRegion]: { multiRegion: true },
      [ARN.rsa]: { spec: 'RSA_2048', usage: 'SIGN_VERIFY' },
      [ARN.hmac]: { spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' },
    },
  });
}

/** The keys a customer can hand over and then act on. */
export const USABLE_ARNS = [ARN.symmetric, ARN.second, ARN.external, ARN.multiRegion] as const;
const ALL_ARNS = Object.values(ARN);

const arnInput = fc.oneof(
  { arbitrary: fc.constantFrom(...USABLE_ARNS), weight: 6 },
  { arbitrary: fc.constantFrom(ARN.rsa, ARN.hmac, ARN.unknown, ARN.later, ...BAD_INPUTS), weight: 1 },
);

/** Key actions on `arns`; a small set lets a sequence take one key through its whole lifecycle. */
export function keyCommandOn(arns: readonly string[]): fc.Arbitrary<KeyCommand> {
  const arn = fc.constantFrom(...arns);
  return fc.oneof(
    fc.record({
      type: fc.constantFrom(
        'disableKey', 'enableKey', 'denyAccess', 'allowAccess', 'scheduleDeletion', 'cancelDeletion',
        'deletionDue', 'deleteMaterial', 'reimportMaterial', 'rotateKey', 'kmsRecover',
      ),
      arn,
    }),
    fc.record({ type: fc.constant('kmsFault' as const), arn, fault: fc.constantFrom('throttled' as const, 'unavailable' as const) }),
  ) as fc.Arbitrary<KeyCommand>;
}

export const keyCommand: fc.Arbitrary<KeyCommand> = fc.oneof(
  fc.record({
    type: fc.constantFrom(
      'disableKey', 'enableKey', 'denyAccess', 'allowAccess', 'scheduleDeletion', 'cancelDeletion',
      'deletionDue', 'deleteMaterial', 'reimportMaterial', 'rotateKey', 'kmsRecover',
    ),
    arn: fc.constantFrom(...ALL_ARNS),
  }),
  fc.record({ type: fc.constant('kmsFault' as const), arn: fc.constantFrom(...ALL_ARNS), fault: fc.constantFrom('throttled' as const, 'unavailable' as const) }),
  fc.record({ type: fc.constant('createKey' as const), arn: fc.constantFrom(ARN.later, ARN.symmetric) }),
) as fc.Arbitrary<KeyCommand>;

/** Account commands weighted towards the enabling path so that EKM is reached often. */
export const accountCommand: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant({ type: 'activate' } as const), weight: 2 },
  { arbitrary: arnInput.map((input) => ({ type: 'submitArn', input }) as const), weight: 4 },
  { arbitrary: fc.constant({ type: 'showTerms' } as const), weight: 3 },
  { arbitrary: fc.constant({ type: 'acceptTerms' } as const), weight: 3 },
  { arbitrary: fc.constant({ type: 'declineTerms' } as const), weight: 1 },
  { arbitrary: arnInput.map((input) => ({ type: 'updateKey', input }) as const), weight: 2 },
  { arbitrary: fc.constant({ type: 'completeUpdate' } as const), weight: 2 },
  { arbitrary: fc.constant({ type: 'returnToCloudKms' } as const), weight: 1 },
  { arbitrary: fc.constantFrom({ type: 'scheduledBackup' } as const, { type: 'manualBackup' } as const), weight: 3 },
  {
    arbitrary: fc.record(
      { type: fc.constantFrom('restore' as const, 'download' as const), snapshotId: fc.constantFrom('snap-1', 'snap-2', 'snap-9') },
      { requiredKeys: ['type'] },
    ),
    weight: 3,
  },
);

export const command: fc.Arbitrary<Command> = fc.oneof({ arbitrary: accountCommand, weight: 3 }, { arbitrary: keyCommand, weight: 1 });

export const commands = fc.array(command, { maxLength: 40 });

/** The commands that take a fresh account to EKM in force with `arn`, one backup taken before. */
export function enableWith(arn: string): Command[] {
  return [
    { type: 'activate' },
    { type: 'scheduledBackup' },
    { type: 'submitArn', input: arn },
    { type: 'showTerms' },
    { type: 'acceptTerms' },
  ];
}

/** Starting points that put random walks straight into the deeper phases. */
export const PREFIXES: readonly (readonly Command[])[] = [
  [],
  [{ type: 'activate' }],
  enableWith(ARN.symmetric).slice(0, -1),
  ...USABLE_ARNS.map((arn) => enableWith(arn)),
  ...USABLE_ARNS.map((arn): Command[] => [...enableWith(arn), { type: 'manualBackup' }, { type: 'updateKey', input: arn === ARN.second ? ARN.symmetric : ARN.second }]),
];

/** A command history from a fresh account: a prefix from PREFIXES, then random commands. */
export const history: fc.Arbitrary<Command[]> = fc
  .tuple(fc.constantFrom(...PREFIXES), commands)
  .map(([prefix, rest]) => [...prefix, ...rest]);

export function run(state: AccountState, cmds: readonly Command[]): AccountState {
  return cmds.reduce((s, c) => decide(s, c).state, state);
}
