/**
 * The scenario file format, version `ekm.conformance/v1`.
 *
 * A scenario is data: a list of steps, each naming one action by a dotted key
 * (`admin.disableKey: A`) with optional `title` and `expect`. Keys, grants, snapshots
 * and tenant entities are referred to by local names the scenario chooses; accounts by
 * role (`provider`, `customer`, `other`), never by 12-digit ids, because every scenario
 * gets fresh accounts at run time.
 */
import { z } from 'zod';
import { FAILURE_CODES } from '@ekm/domain';
import { PAUSE_POINT_NAMES, type PausePoint } from '@ekm/protocol';

export const API_VERSION = 'ekm.conformance/v1';
export const KIND = 'Scenario';

/** `provider` is the backup provider's account, `customer` owns the keys, `other` is an unrelated third account. */
export const ACCOUNT_ROLES = ['provider', 'customer', 'other'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];

/** KMS API operations as they appear in the gateway's audit trail. */
export const KMS_OPERATIONS = [
  'Encrypt',
  'Decrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'DescribeKey',
  'CreateKey',
  'PutKeyPolicy',
  'GetKeyPolicy',
  'CreateGrant',
  'RevokeGrant',
  'RetireGrant',
  'ListGrants',
  'EnableKey',
  'DisableKey',
  'ScheduleKeyDeletion',
  'CancelKeyDeletion',
  'RotateKeyOnDemand',
  'EnableKeyRotation',
  'GetParametersForImport',
  'ImportKeyMaterial',
  'DeleteImportedKeyMaterial',
  'ReplicateKey',
] as const;
export type KmsOperation = (typeof KMS_OPERATIONS)[number];

/** Permissions a key policy statement or grant can give (`kms:` prefix left out). */
export const KEY_PERMISSIONS = [
  'Encrypt',
  'Decrypt',
  'ReEncryptFrom',
  'ReEncryptTo',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'DescribeKey',
  'CreateGrant',
] as const;
export type KeyPermission = (typeof KEY_PERMISSIONS)[number];

export const KEY_SPECS = [
  'SYMMETRIC_DEFAULT',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
] as const;
export const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC'] as const;
export const KEY_ORIGINS = ['AWS_KMS', 'EXTERNAL'] as const;
export const ENTITY_KINDS = ['user', 'group', 'application', 'servicePrincipal', 'device', 'role'] as const;
export const WORKFLOWS = ['scheduledBackup', 'manualBackup', 'restore', 'download'] as const;

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const RULE_ID = /^EKM-\d{2}$/;
const SCENARIO_ID = /^[a-z0-9][a-z0-9._-]*$/;
/** `90s`, `15m`, `1h`, `7d`, `250ms`: what the clock and expiry steps take. */
export const DURATION = /^(\d+)(ms|s|m|h|d)$/;

const name = (what: string) => z.string().regex(NAME, { message: `a ${what} name (a letter, then letters, digits, - or _)` });
const keyName = name('key');
const tenantName = name('tenant');
const duration = z.string().regex(DURATION, { message: 'a duration such as 250ms, 90s, 15m, 1h or 7d' });
const role = z.enum(ACCOUNT_ROLES);
const context = z.record(z.string(), z.string());
const permissions = z.array(z.enum(KEY_PERMISSIONS)).min(1);
const obj = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape);

/**
 * A key is named (`key: A`, created by an earlier step) or given as a literal ARN
 * (`arn: ...`), for the malformed and foreign identifiers the console must refuse.
 * In `arn`, `${customer}`, `${provider}`, `${region}` and `${key:A}` are filled in at run time.
 */
function exactlyOneTarget(t: { key?: string | undefined; arn?: string | undefined; alias?: string | undefined }, ctx: z.RefinementCtx): void {
  const given = [t.key, t.arn, t.alias].filter((x) => x !== undefined).length;
  if (given !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: `expected one of key (a key name), alias (an alias name, submitted as its alias ARN) or arn (a literal ARN), found ${given === 0 ? 'none' : 'several'}`,
    });
  }
}
const keyTarget = obj({ key: keyName.optional(), alias: name('alias').optional(), arn: z.string().min(1).optional() }).superRefine(exactlyOneTarget);

/** A key policy document: JSON as AWS takes it; strings may hold `${provider}`, `${customer}`, `${other}`, `${region}`, `${key}` (this key's ARN) and `${tenant}`. */
const policyDocument = z.record(z.string(), z.unknown());
/** Key policies the AWS console writes, by name. `console-default`: the console's default policy giving another AWS account (the provider) use of the key. */
export const POLICY_PRESETS = ['console-default'] as const;

/** An action's arguments; `shorthand` names the field a bare scalar fills (`admin.disableKey: A`). */
interface ActionDef<S extends z.ZodType = z.ZodType> {
  readonly args: S;
  readonly shorthand?: string;
  readonly summary: string;
}
const action = <S extends z.ZodType>(summary: string, args: S, shorthand?: string): ActionDef<S> =>
  shorthand === undefined ? { args, summary } : { args, summary, shorthand };

const none = obj({});
const keyArgs = obj({ key: keyName });
const snapshotName = name('snapshot');

export const ACTIONS = {
  // support
  'support.activate': action('support activates Enterprise Key Management for the account', none),

  // console (the customer's backup administrator)
  'console.submitKey': action('submit a key ARN for validation', keyTarget, 'key'),
  'console.showTerms': action('go on to the legal terms for the validated key', none),
  'console.acceptTerms': action(
    'accept the legal terms (Yes, I Agree); the console shows them first unless `showTerms: false` (a client skipping the dialog)',
    obj({ showTerms: z.boolean().default(true) }),
  ),
  'console.declineTerms': action('decline the legal terms', none),
  'console.abandon': action('leave the enable dialog without answering', none),
  'console.enable': action('submit the key, show and accept the terms in one go', keyTarget, 'key'),
  'console.updateKey': action(
    'update the key to a new ARN; `complete: false` stops before the rewrap so a step can come in between',
    z.strictObject({ key: keyName.optional(), arn: z.string().min(1).optional(), complete: z.boolean().default(true) }).superRefine(exactlyOneTarget),
    'key',
  ),
  'console.completeUpdate': action('finish an update started with `complete: false` (rewrap to the new key)', none),
  'console.status': action('read the key management tab', none),
  'console.returnToCloudKms': action('try to switch back to Cloud Key Management', none),

  // the customer's key administrator
  'admin.createKey': action(
    'create a KMS key in the customer account',
    obj({
      key: keyName,
      spec: z.enum(KEY_SPECS).default('SYMMETRIC_DEFAULT'),
      usage: z.enum(KEY_USAGES).optional(),
      origin: z.enum(KEY_ORIGINS).default('AWS_KMS'),
      multiRegion: z.boolean().default(false),
      region: z.string().min(1).optional(),
      /** Who the initial key policy allows besides the owner; `[]` makes an owner-only key. */
      allow: z.array(role).default(['provider']),
    }),
    'key',
  ),
  'admin.replicateKey': action('replicate a multi-Region key into another region', obj({ key: keyName, replica: keyName, region: z.string().min(1) })),
  'admin.importKeyMaterial': action(
    'import key material into an EXTERNAL key; the same `material` name re-imports the same bytes',
    obj({ key: keyName, material: name('material').default('m1'), expiresIn: duration.optional() }),
    'key',
  ),
  'admin.deleteImportedKeyMaterial': action('delete imported key material', keyArgs, 'key'),
  'admin.putKeyPolicy': action(
    'replace the key policy: accounts allowed (`allow`), a whole policy `document`, a `file` beside the scenario, or a console `preset`',
    obj({
      key: keyName,
      allow: z.array(role).optional(),
      operations: permissions.optional(),
      context: context.optional(),
      document: policyDocument.optional(),
      file: z.string().min(1).optional(),
      preset: z.enum(POLICY_PRESETS).optional(),
    }).superRefine((a, ctx) => {
      const given = [a.allow, a.document, a.file, a.preset].filter((x) => x !== undefined).length;
      if (given !== 1) ctx.addIssue({ code: 'custom', message: `expected one of allow, document, file or preset, found ${given === 0 ? 'none' : 'several'}` });
      if (a.allow === undefined && (a.operations !== undefined || a.context !== undefined))
        ctx.addIssue({ code: 'custom', message: 'operations and context go with allow; a document, file or preset says them itself' });
    }),
  ),
  'admin.createAlias': action('create an alias pointing at a key', obj({ alias: name('alias'), key: keyName })),
  'admin.updateAlias': action('point an existing alias at another key', obj({ alias: name('alias'), key: keyName })),
  'admin.deleteAlias': action('delete an alias', obj({ alias: name('alias') }), 'alias'),
  'admin.editKeyPolicy': action(
    'add or remove accounts in the key policy, keeping the rest',
    obj({
      key: keyName,
      add: z.array(role).optional(),
      remove: z.array(role).optional(),
      operations: permissions.optional(),
    }),
  ),
  'admin.createGrant': action(
    'create a grant on the key',
    obj({
      key: keyName,
      grant: name('grant'),
      to: role.default('provider'),
      operations: permissions.optional(),
      context: context.optional(),
    }),
  ),
  'admin.revokeGrant': action('revoke a grant', obj({ key: keyName, grant: name('grant') })),
  'admin.disableKey': action('disable the key', keyArgs, 'key'),
  'admin.enableKey': action('enable the key', keyArgs, 'key'),
  'admin.scheduleKeyDeletion': action('schedule key deletion', obj({ key: keyName, days: z.int().min(7).max(30).default(7) }), 'key'),
  'admin.cancelKeyDeletion': action('cancel a scheduled deletion', keyArgs, 'key'),
  'admin.rotateKey': action('rotate key material on demand', keyArgs, 'key'),
  'admin.enableKeyRotation': action('turn on automatic rotation', obj({ key: keyName, periodDays: z.int().min(90).max(2560).default(365) }), 'key'),

  // changes in the Entra tenant between backups (`tenant`: which of the scenario's tenants; default the first)
  'tenant.add': action(
    'add an entity to the tenant',
    obj({ kind: z.enum(ENTITY_KINDS).default('user'), name: name('entity'), properties: context.optional(), tenant: tenantName.optional() }),
    'name',
  ),
  'tenant.update': action('change properties of an entity', obj({ name: name('entity'), properties: context })),
  'tenant.remove': action('delete an entity from the tenant', obj({ name: name('entity') }), 'name'),
  'tenant.drift': action(
    'make random, seeded changes to the tenant',
    obj({ changes: z.int().min(1).max(10_000).default(5), seed: z.int().optional(), tenant: tenantName.optional() }),
    'changes',
  ),
  'tenant.connect': action(
    "connect one of the scenario's tenants (declared `connected: false`) to the account, e.g. after EKM is enabled",
    obj({ tenant: tenantName }),
    'tenant',
  ),

  // the provider's workflows (`tenant`: which tenant's; default the first)
  'workflow.scheduledBackup': action(
    "a scheduled backup runs (every connected tenant; the step checks `tenant`'s)",
    obj({ snapshot: snapshotName.optional(), tenant: tenantName.optional() }),
    'snapshot',
  ),
  'workflow.manualBackup': action('the administrator starts a backup', obj({ snapshot: snapshotName.optional(), tenant: tenantName.optional() }), 'snapshot'),
  'workflow.restore': action(
    "restore entities in place from a snapshot (default: the tenant's latest)",
    obj({ snapshot: snapshotName.optional(), entities: z.array(name('entity')).optional(), tenant: tenantName.optional() }),
    'snapshot',
  ),
  'workflow.download': action(
    "download a snapshot (default: the tenant's latest)",
    obj({ snapshot: snapshotName.optional(), tenant: tenantName.optional() }),
    'snapshot',
  ),

  // the provider's snapshot store, as an attacker or a storage fault would change it
  'store.tamper': action(
    "change a stored snapshot's data: flip a byte, cut it short, put another tenant's or another snapshot's data in its place, or undo the change",
    obj({ snapshot: snapshotName, mode: z.enum(['flipByte', 'truncate', 'otherSnapshot', 'restore']) }),
    'snapshot',
  ),

  // faults
  'fault.kms': action(
    'add a toxic to the KMS gateway',
    obj({
      fault: name('fault').optional(),
      toxic: z.enum(['latency', 'timeout', 'throttle', 'unavailable', 'reset']),
      operations: z.array(z.enum(KMS_OPERATIONS)).optional(),
      from: role.optional(),
      latency: duration.optional(),
      times: z.int().min(1).optional(),
      probability: z.number().min(0).max(1).default(1),
    }),
    'toxic',
  ),
  'fault.graph': action(
    'make Microsoft Graph answer with errors',
    obj({
      fault: name('fault').optional(),
      status: z.union([z.literal(429), z.literal(500), z.literal(503)]).default(429),
      times: z.int().min(1).default(1),
      retryAfter: duration.optional(),
      /** Requests served normally first: the errors start half-way through the next workflow. */
      after: z.int().min(0).optional(),
      tenant: tenantName.optional(),
      /** Only requests to this Graph path (e.g. `/groups`) fail. */
      endpoint: z
        .string()
        .regex(/^\/[A-Za-z0-9/._-]*$/, { message: 'a Graph path such as /groups' })
        .optional(),
    }),
    'status',
  ),
  'fault.localstack': action(
    'freeze LocalStack (SIGSTOP) for a while, in the background, as a host or network stall would; needs a LocalStack the run started',
    obj({ freeze: duration }),
    'freeze',
  ),
  'fault.provider': action(
    'the provider crashes the next time its work reaches a pause point, and the harness restarts it on the same storage; needs capability provider.crash',
    obj({ crash: z.enum(PAUSE_POINT_NAMES) }),
    'crash',
  ),
  'fault.clear': action('remove one fault, or all when none is named', obj({ fault: name('fault').optional() }), 'fault'),

  // checks over the whole scenario so far
  'verify.snapshots': action('every snapshot reported complete restores exactly, and no backup reported failed left a complete-looking snapshot', none),

  // the clock shared by the gateway and the provider
  'clock.advance': action('move the clock forward', obj({ by: duration }), 'by'),
} as const satisfies Record<string, ActionDef>;

export type ActionName = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];
export type ActionArgs<A extends ActionName> = z.output<(typeof ACTIONS)[A]['args']>;

/** `crashed`: the provider died in the step (`fault.provider`), so it answered nothing. */
const outcome = z.enum(['ok', 'crashed', ...FAILURE_CODES] as [string, ...string[]]);

const kmsCallExpectation = obj({
  op: z.enum(KMS_OPERATIONS),
  /** Exactly this many matching calls; leave out for "at least one". */
  count: z.int().min(0).optional(),
  from: role.optional(),
  key: keyName.optional(),
  /** The call's encryption context must contain these pairs; `$tenant` is the default tenant's id, `$tenant:NAME` a named tenant's. */
  context: context.optional(),
  /** `ok` or the failure code the gateway answered with. */
  result: outcome.optional(),
});

export const Expect = obj({
  /**
   * `ok`, or the failure code (from `FAILURES` in @ekm/domain) the step must end with; a list
   * accepts any of them (under faults a workflow may succeed after retries or fail cleanly).
   */
  outcome: z.union([outcome, z.array(outcome).min(1)]).optional(),
  /** Words the failure's message must contain, e.g. what to change. */
  message: z.string().min(1).optional(),
  /** Which field the failure points at, e.g. `account` or `resource` of an ARN. */
  field: z.string().min(1).optional(),
  /** What the Key Management tab shows (ConsoleView in @ekm/domain). */
  status: obj({
    /** The EKM configuration fields are offered (support has activated EKM). */
    ekmSection: z.boolean().optional(),
    /** The provider's 12-digit account id is shown and is the `provider` account of this run. */
    providerAccountShown: z.boolean().optional(),
    /** The key ARN shown is this key's. */
    key: keyName.optional(),
    externalKeyManagement: z.enum(['Enabled', 'Disabled']).optional(),
    cloudKeyManagement: z.enum(['Enabled', 'Disabled']).optional(),
    updateInProgress: z.boolean().optional(),
    /** Exactly these snapshots are listed as lost with a destroyed key (EKM-21); `[]` for none. */
    unrecoverableSnapshots: z.array(z.string().min(1)).optional(),
  }).optional(),
  /** KMS calls made while the step ran, read from the gateway's audit trail. */
  audit: obj({
    calls: z.array(kmsCallExpectation).optional(),
    /** Total KMS calls during the step, of any kind. */
    total: z.int().min(0).optional(),
    /** No call reached the key at all (e.g. a refusal decided before KMS). */
    none: z.boolean().optional(),
  }).optional(),
  data: obj({
    /** After the step, the tenant equals this snapshot's content. */
    tenantEquals: snapshotName.optional(),
    /** The downloaded archive holds every entity of this snapshot. */
    downloadContains: snapshotName.optional(),
    /** ... or at least these named entities. */
    downloadEntities: z.array(name('entity')).optional(),
    /** No snapshot was committed by the step (a failed workflow leaves nothing partial). */
    noNewSnapshot: z.boolean().optional(),
  }).optional(),
});
export type Expect = z.output<typeof Expect>;

/** Actions a `during` may hold, by the pause points' family. */
export const PAUSABLE: Readonly<Record<string, readonly ActionName[]>> = {
  backup: ['workflow.manualBackup', 'workflow.scheduledBackup'],
  update: ['console.updateKey', 'console.enable', 'console.acceptTerms', 'console.completeUpdate'],
};

const stepShape: Record<string, z.ZodType> = {
  title: z.string().min(1).optional(),
  expect: Expect.optional(),
  /**
   * Steps that run while this step's work is held at a pause point (capability workflow.pause),
   * after which it goes on: a key disabled while a backup runs, an update while one writes.
   */
  during: z.lazy(() => obj({ at: z.enum(PAUSE_POINT_NAMES), steps: z.array(StepSchema).min(1) })).optional(),
};
for (const [key, def] of Object.entries(ACTIONS) as [ActionName, ActionDef][]) {
  const shorthand = def.shorthand;
  stepShape[key] = z
    .preprocess((v) => {
      // `support.activate:` with nothing after it parses as null: the same as `{}`.
      if (v === null) return {};
      if (shorthand !== undefined && (typeof v === 'string' || typeof v === 'number')) return { [shorthand]: v };
      return v;
    }, def.args)
    .optional();
}

export interface During {
  readonly at: PausePoint;
  readonly steps: readonly Step[];
}

export type Step = {
  [A in ActionName]: { readonly action: A; readonly args: ActionArgs<A>; readonly title: string; readonly expect?: Expect; readonly during?: During };
}[ActionName];

export const StepSchema = z
  .strictObject(stepShape)
  .superRefine((step, ctx) => {
    const actions = Object.keys(step).filter((k) => k in ACTIONS && step[k] !== undefined);
    if (actions.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected one action such as admin.disableKey or workflow.restore, found none`,
        params: { kind: 'noAction' },
      });
    } else if (actions.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected one action per step, found ${actions.length} (${actions.join(', ')}); split them into separate steps`,
        path: [actions[1]!],
      });
    }
    const during = step['during'] as { at: string; steps: Step[] } | undefined;
    if (during !== undefined && actions.length === 1) {
      const family = during.at.split('.')[0]!;
      const allowed = PAUSABLE[family] ?? [];
      if (!allowed.includes(actions[0] as ActionName)) {
        ctx.addIssue({
          code: 'custom',
          path: ['during', 'at'],
          message: `expected a pause point of ${actions[0]} (${pointsOf(actions[0] as ActionName).join(', ') || 'it has none'}), found ${during.at}`,
        });
      }
      for (const [j, inner] of during.steps.entries()) {
        if (inner.action.startsWith('workflow.') || inner.during !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['during', 'steps', j],
            message: `expected a step of the customer, support, Microsoft's side or a fault while ${actions[0]} is held, found ${inner.during !== undefined ? 'another during' : inner.action} (the provider runs an account's workflows one at a time)`,
          });
        }
      }
    }
  })
  .transform((raw): Step => {
    const action = Object.keys(raw).find((k) => k in ACTIONS && raw[k] !== undefined) as ActionName;
    const args = raw[action] as Record<string, unknown>;
    const expect = raw['expect'] as Expect | undefined;
    const during = raw['during'] as During | undefined;
    const title = (raw['title'] as string | undefined) ?? defaultTitle(action, args);
    return { action, args, title, ...(expect === undefined ? {} : { expect }), ...(during === undefined ? {} : { during }) } as Step;
  });

function pointsOf(action: ActionName): string[] {
  return PAUSE_POINT_NAMES.filter((p) => PAUSABLE[p.split('.')[0]!]?.includes(action));
}

/** Fields that say which thing a step acts on; defaults and options stay out of the title. */
const TITLE_FIELDS = ['key', 'arn', 'replica', 'grant', 'snapshot', 'name', 'kind', 'toxic', 'fault', 'by', 'changes', 'status', 'crash'];

function defaultTitle(action: ActionName, args: Record<string, unknown>): string {
  const shown = TITLE_FIELDS.filter((k) => typeof args[k] === 'string' || (k === 'changes' && typeof args[k] === 'number')).map(
    (k) => `${k}=${String(args[k])}`,
  );
  return shown.length === 0 ? action : `${action} ${shown.join(' ')}`;
}

const tenantSpec = obj({
  seed: z.int().optional(),
  users: z.int().min(0).max(10_000).default(10),
  groups: z.int().min(0).max(1_000).default(3),
});

export const ScenarioSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    id: z.string().regex(SCENARIO_ID, { message: 'a scenario id in lower case (letters, digits, ., - or _)' }),
    title: z.string().min(1),
    /** The rule ids this scenario proves. */
    rules: z.array(z.string().regex(RULE_ID, { message: 'a rule id such as EKM-12' })).min(1),
    description: z.string().optional(),
    tags: z.array(z.string().min(1)).optional(),
    tenant: tenantSpec.optional(),
    /** Several named tenants under the one account; the first is the default of every step and must be connected. */
    tenants: z.record(tenantName, tenantSpec.extend({ connected: z.boolean().default(true) })).optional(),
    steps: z.array(StepSchema).min(1),
  })
  .superRefine((s, ctx) => {
    if (s.tenant !== undefined && s.tenants !== undefined)
      ctx.addIssue({ code: 'custom', path: ['tenants'], message: 'expected tenant (one) or tenants (several), found both' });
    const first = s.tenants === undefined ? undefined : Object.values(s.tenants)[0];
    if (s.tenants !== undefined && (first === undefined || !first.connected))
      ctx.addIssue({ code: 'custom', path: ['tenants'], message: 'expected the first tenant to be connected: it is the default of every step' });
  });
export type Scenario = z.output<typeof ScenarioSchema>;
