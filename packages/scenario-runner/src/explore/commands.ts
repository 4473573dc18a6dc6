/**
 * The explorer's commands: each is one scenario step, planned by the domain model. Running a
 * command moves the model (`AccountModel` in @ekm/domain) and appends the step with the
 * outcome the model predicts, so a generated sequence is a scenario whose every `expect`
 * is the model's answer.
 */
import fc from 'fast-check';
import { AccountModel, consoleView, initialAccount, keyInForce, type Decision, type KeyLifecycle } from '@ekm/domain';

export const KEY_NAMES = ['A', 'B'] as const;
export type KeyName = (typeof KEY_NAMES)[number];

/** Stand-in ARNs: the model only needs them well formed and distinct; the run fills in the real ones by name. */
const MODEL_ARN: Record<KeyName, string> = {
  A: 'arn:aws:kms:us-east-1:222233334444:key/aaaaaaaa-0000-4000-8000-00000000000a',
  B: 'arn:aws:kms:us-east-1:222233334444:key/bbbbbbbb-0000-4000-8000-00000000000b',
};
const NAME_OF = new Map(KEY_NAMES.map((k) => [MODEL_ARN[k], k]));

const REVOCATION_CODES = new Set(['KeyDisabled', 'KeyAccessDenied', 'KeyPendingDeletion', 'KeyMaterialUnavailable']);

/** One planned step: what the scenario file says, and the rules a disagreement on it breaks (most specific first). */
export interface PlannedStep {
  readonly action: string;
  /** The action's value: a scalar for its shorthand, a mapping, or null for none. */
  readonly args: unknown;
  readonly expect?: Record<string, unknown>;
  readonly rules: readonly string[];
  /** Steps run while this step's work is held at a pause point (capability workflow.pause). */
  readonly during?: { readonly at: string; readonly steps: readonly PlannedStep[] };
}

/** The tenants of every explored scenario: the model's keys govern both alike. */
export const TENANTS = ['main', 'second'] as const;

/** The model side of a sequence: the account state machine plus what the scenario has named so far. */
export class ExploreModel {
  readonly account = new AccountModel(initialAccount({ tenantId: 'explore', providerAccountId: '111122223333' }));
  readonly created = new Set<KeyName>();
  /** Snapshots the model says were taken, by scenario name. */
  readonly snapshots: string[] = [];
  backups = 0;
  drifts = 0;
  /** Keys a workflow has already unwrapped the tenant key with: a later revocation of one must still bite (EKM-19). */
  readonly unwrappedWith = new Set<string>();
  accessGivenBack = false;
  /** A gateway fault makes every KMS call from the provider's account fail until cleared. */
  faulted = false;
  updated = false;
  rotated = false;

  /**
   * Every sequence starts from an activated account with keys A and B (steps of their own in
   * the scenario, not commands): without it most random sequences would spend themselves on
   * refusals before EKM is reachable. EKM-01's refusals are still explored: `support.activate`
   * is a command, and the written scenarios cover the not-activated account.
   */
  opening(): PlannedStep[] {
    this.account.apply({ type: 'activate' });
    const steps: PlannedStep[] = [{ action: 'support.activate', args: null, rules: ['EKM-01'] }];
    for (const k of KEY_NAMES) {
      this.account.apply({ type: 'createKey', arn: MODEL_ARN[k] });
      this.created.add(k);
      steps.push({ action: 'admin.createKey', args: k, rules: ['EKM-04'] });
    }
    return steps;
  }

  lifecycle(key: KeyName): KeyLifecycle | undefined {
    return this.account.state.keys[MODEL_ARN[key]]?.lifecycle;
  }
}

/** The real side during planning: the steps in order. */
export class Plan {
  readonly steps: PlannedStep[] = [];
}

const outcomeOf = (d: Decision): string => d.refusal?.code ?? 'ok';

class StepCommand implements fc.Command<ExploreModel, Plan> {
  constructor(
    readonly label: string,
    readonly precondition: (m: ExploreModel) => boolean,
    readonly plan: (m: ExploreModel) => PlannedStep | PlannedStep[],
  ) {}
  check(m: Readonly<ExploreModel>): boolean {
    return this.precondition(m as ExploreModel);
  }
  run(m: ExploreModel, p: Plan): void {
    p.steps.push(...[this.plan(m)].flat());
  }
  toString(): string {
    return this.label;
  }
}

const always = () => true;
const created = (k: KeyName) => (m: ExploreModel) => m.created.has(k);
/** Key administration is generated only where KMS accepts it: the explorer tests the provider, not KMS's refusals. */
const inLifecycle =
  (k: KeyName, ...states: KeyLifecycle[]) =>
  (m: ExploreModel) => {
    const l = m.lifecycle(k);
    return l !== undefined && states.includes(l);
  };

function step(action: string, args: unknown, outcome: string, rules: readonly string[], extra: Record<string, unknown> = {}): PlannedStep {
  return { action, args, expect: { outcome, ...extra }, rules };
}

/** Rules a console refusal speaks to: not activated is EKM-01 whatever was asked. */
function consoleRules(outcome: string, own: readonly string[]): readonly string[] {
  return outcome === 'NotActivated' ? ['EKM-01', ...own] : own;
}

function keyCommand(k: KeyName, type: 'disableKey' | 'enableKey' | 'denyAccess' | 'allowAccess' | 'scheduleDeletion' | 'cancelDeletion' | 'rotateKey') {
  return (m: ExploreModel) => m.account.apply({ type, arn: MODEL_ARN[k] });
}

function workflowRules(m: ExploreModel, outcome: string, used: string | undefined): readonly string[] {
  // A workflow that should have met the key's new condition, on a key an earlier workflow already
  // unwrapped the tenant key with, points first at a key kept past its workflow (EKM-19).
  const seen = used !== undefined && m.unwrappedWith.has(used);
  if (REVOCATION_CODES.has(outcome)) return seen ? ['EKM-19', 'EKM-12'] : ['EKM-12', 'EKM-19'];
  if (outcome === 'KeyDeleted' || outcome === 'DataUnrecoverable') return ['EKM-18', 'EKM-12'];
  if (outcome === 'KmsUnavailable' || outcome === 'KmsThrottled') return seen ? ['EKM-19', 'EKM-12', 'EKM-11'] : ['EKM-12', 'EKM-11'];
  if (outcome !== 'ok') return ['EKM-11'];
  const specific = [m.rotated && 'EKM-17', m.updated && 'EKM-16', m.accessGivenBack && 'EKM-13'].filter((r): r is string => r !== false);
  return [...specific, 'EKM-11'];
}

/** A backup as the model plans it; `tenant` names the second tenant (the default one is left out). */
function planBackup(m: ExploreModel, type: 'manualBackup' | 'scheduledBackup', tenant?: string): PlannedStep {
  const name = `s${++m.backups}`;
  const used = keyInForce(m.account.state);
  const d = m.account.apply({ type, snapshotId: name });
  const outcome = outcomeOf(d);
  const rules = workflowRules(m, outcome, used);
  if (outcome === 'ok') {
    m.snapshots.push(name);
    m.unwrappedWith.add(used);
  }
  const args = tenant === undefined ? name : { snapshot: name, tenant };
  // A failed backup commits nothing (EKM-12).
  return step(`workflow.${type}`, args, outcome, rules, outcome === 'ok' ? {} : { data: { noNewSnapshot: true } });
}

const HELD_AT = ['backup.keyUnwrapped', 'backup.dataWritten', 'backup.committed'] as const;

/**
 * A backup held at a pause point while the customer revokes a key. The model takes the backup
 * first and the revocation after it: under EKM-19 a running workflow finishes with the tenant key
 * it already unwrapped, and the next one fails. A backup the model says fails never reaches its
 * pause point, so then the revocation is simply the next step.
 */
function heldBackup(at: (typeof HELD_AT)[number], k: KeyName, revoke: 'disableKey' | 'denyAccess') {
  return new StepCommand(`workflow.manualBackup held at ${at} (${revoke}(${k}))`, inLifecycle(k, 'Enabled', 'Disabled'), (m) => {
    const planned = planBackup(m, 'manualBackup');
    keyCommand(k, revoke)(m);
    const inner =
      revoke === 'disableKey'
        ? step('admin.disableKey', k, 'ok', ['EKM-19', 'EKM-12'])
        : step('admin.editKeyPolicy', { key: k, remove: ['provider'] }, 'ok', ['EKM-19', 'EKM-12']);
    if (planned.expect?.['outcome'] !== 'ok') return [planned, inner];
    return { ...planned, rules: ['EKM-19', ...planned.rules], during: { at, steps: [inner] } };
  });
}

function backup(type: 'manualBackup' | 'scheduledBackup') {
  return new StepCommand(`workflow.${type}`, always, (m) => planBackup(m, type));
}

/** A manual backup of the second tenant: the same key decides it (EKM-11), its snapshots are its own (EKM-20). */
const secondBackup = new StepCommand('workflow.manualBackup(second)', always, (m) => {
  const planned = planBackup(m, 'manualBackup', TENANTS[1]);
  return { ...planned, rules: [...planned.rules, 'EKM-20'] };
});

function read(type: 'restore' | 'download', pick: number) {
  return new StepCommand(`workflow.${type}(${pick})`, always, (m) => {
    const name = m.snapshots.length === 0 ? undefined : m.snapshots[pick % m.snapshots.length]!;
    const snapshot = m.account.state.snapshots.find((s) => s.id === name);
    const used = snapshot?.protectedBy[0];
    const d = m.account.apply(name === undefined ? { type } : { type, snapshotId: name });
    const outcome = outcomeOf(d);
    const rules = workflowRules(m, outcome, used);
    if (outcome === 'ok' && used !== undefined) m.unwrappedWith.add(used);
    const data = outcome !== 'ok' || name === undefined ? {} : { data: type === 'restore' ? { tenantEquals: name } : { downloadContains: name } };
    return step(`workflow.${type}`, name ?? null, outcome, rules, data);
  });
}

/** A is the key most sequences enable; B is there for updates and for revoking the key not in force. */
const keyName = fc.oneof({ arbitrary: fc.constant<KeyName>('A'), weight: 2 }, { arbitrary: fc.constant<KeyName>('B'), weight: 1 });

/** Every command kind, each an arbitrary; workflows and the enabling steps weigh more so short runs reach EKM. */
export function commandArbitraries(): fc.Arbitrary<fc.Command<ExploreModel, Plan>>[] {
  const support = fc.constant(
    new StepCommand('support.activate', always, (m) => {
      const o = outcomeOf(m.account.apply({ type: 'activate' }));
      return step('support.activate', null, o, ['EKM-01']);
    }),
  );
  const enable = keyName.map(
    (k) =>
      new StepCommand(`console.enable(${k})`, created(k), (m) => {
        const submitted = m.account.apply({ type: 'submitArn', input: MODEL_ARN[k] });
        let o = outcomeOf(submitted);
        if (o === 'ok') o = outcomeOf(m.account.apply({ type: 'showTerms' }));
        if (o === 'ok') o = outcomeOf(m.account.apply({ type: 'acceptTerms' }));
        return step('console.enable', k, o, consoleRules(o, o === 'ok' ? ['EKM-08', 'EKM-07', 'EKM-06'] : ['EKM-06', 'EKM-07']));
      }),
  );
  const submit = keyName.map(
    (k) =>
      new StepCommand(`console.submitKey(${k})`, created(k), (m) => {
        const o = outcomeOf(m.account.apply({ type: 'submitArn', input: MODEL_ARN[k] }));
        return step('console.submitKey', k, o, consoleRules(o, ['EKM-06']));
      }),
  );
  const accept = fc.constant(
    new StepCommand('console.acceptTerms', always, (m) => {
      // The console shows the terms before the customer can agree, as the runner does.
      let o = 'ok';
      if (m.account.state.phase === 'arnValidated') o = outcomeOf(m.account.apply({ type: 'showTerms' }));
      if (o === 'ok') o = outcomeOf(m.account.apply({ type: 'acceptTerms' }));
      return step('console.acceptTerms', null, o, consoleRules(o, ['EKM-07', 'EKM-08']));
    }),
  );
  const decline = fc.constant(
    new StepCommand('console.declineTerms', always, (m) => {
      const o = outcomeOf(m.account.apply({ type: 'declineTerms' }));
      return step('console.declineTerms', null, o, consoleRules(o, ['EKM-07']));
    }),
  );
  const update = keyName.map(
    (k) =>
      new StepCommand(`console.updateKey(${k})`, created(k), (m) => {
        // The provider validates, rewraps and switches in one command: the model's updateKey then completeUpdate.
        let o = outcomeOf(m.account.apply({ type: 'updateKey', input: MODEL_ARN[k] }));
        const validated = o === 'ok';
        if (validated) o = outcomeOf(m.account.apply({ type: 'completeUpdate' }));
        if (o === 'ok') m.updated = true;
        const rules = !validated ? ['EKM-14'] : o === 'ok' ? ['EKM-16', 'EKM-14'] : ['EKM-15', 'EKM-14'];
        return step('console.updateKey', k, o, consoleRules(o, rules));
      }),
  );
  const back = fc.constant(
    new StepCommand('console.returnToCloudKms', always, (m) => {
      const o = outcomeOf(m.account.apply({ type: 'returnToCloudKms' }));
      return step('console.returnToCloudKms', null, o, consoleRules(o, ['EKM-09']));
    }),
  );
  const status = fc.constant(
    new StepCommand('console.status', always, (m) => {
      const v = consoleView(m.account.state);
      const key = v.keyArn === undefined ? undefined : NAME_OF.get(v.keyArn);
      return step('console.status', null, 'ok', ['EKM-10', 'EKM-02', 'EKM-09'], {
        status: {
          ekmSection: v.ekmSection,
          providerAccountShown: v.providerAccountId !== undefined,
          ...(key === undefined ? {} : { key }),
          externalKeyManagement: v.externalKeyManagement,
          cloudKeyManagement: v.cloudKeyManagement,
          updateInProgress: v.updateInProgress,
        },
      });
    }),
  );
  // Revocations twice as often as the rest: they are where workflows must start failing.
  const admin = keyName.chain((k) => {
    const [disable, enable, remove, add, schedule, cancel, rotate] = [
      new StepCommand(`admin.disableKey(${k})`, inLifecycle(k, 'Enabled', 'Disabled'), (m) => {
        keyCommand(k, 'disableKey')(m);
        return step('admin.disableKey', k, 'ok', ['EKM-12']);
      }),
      new StepCommand(`admin.enableKey(${k})`, inLifecycle(k, 'Enabled', 'Disabled'), (m) => {
        keyCommand(k, 'enableKey')(m);
        m.accessGivenBack = true;
        return step('admin.enableKey', k, 'ok', ['EKM-13']);
      }),
      new StepCommand(`admin.removeProvider(${k})`, inLifecycle(k, 'Enabled', 'Disabled'), (m) => {
        keyCommand(k, 'denyAccess')(m);
        return step('admin.editKeyPolicy', { key: k, remove: ['provider'] }, 'ok', ['EKM-12']);
      }),
      new StepCommand(`admin.addProvider(${k})`, inLifecycle(k, 'Enabled', 'Disabled'), (m) => {
        keyCommand(k, 'allowAccess')(m);
        m.accessGivenBack = true;
        return step('admin.editKeyPolicy', { key: k, add: ['provider'] }, 'ok', ['EKM-13']);
      }),
      new StepCommand(`admin.scheduleKeyDeletion(${k})`, inLifecycle(k, 'Enabled', 'Disabled'), (m) => {
        keyCommand(k, 'scheduleDeletion')(m);
        return step('admin.scheduleKeyDeletion', { key: k, days: 7 }, 'ok', ['EKM-12']);
      }),
      new StepCommand(`admin.cancelKeyDeletion(${k})`, inLifecycle(k, 'PendingDeletion'), (m) => {
        keyCommand(k, 'cancelDeletion')(m);
        m.accessGivenBack = true;
        return step('admin.cancelKeyDeletion', k, 'ok', ['EKM-13']);
      }),
      new StepCommand(`admin.rotateKey(${k})`, inLifecycle(k, 'Enabled'), (m) => {
        keyCommand(k, 'rotateKey')(m);
        m.rotated = true;
        return step('admin.rotateKey', k, 'ok', ['EKM-17']);
      }),
    ] as const;
    return fc.constantFrom(disable, disable, remove, remove, schedule, schedule, enable, add, cancel, rotate);
  });
  // Only once EKM is in force (the provider's own cloud key sits behind the same gateway, and the
  // model holds it always usable), and never over a deleted key: a deleted key is reported as
  // deleted whatever the network does (EKM-18), which a gateway answering 500 cannot show.
  const noDeletedKey = (m: ExploreModel) => KEY_NAMES.every((k) => m.lifecycle(k) !== 'Deleted');
  const faultOn = fc.constant(
    new StepCommand(
      'fault.kms(unavailable)',
      (m) => !m.faulted && m.account.state.phase === 'ekmEnabled' && noDeletedKey(m),
      (m) => {
        for (const k of KEY_NAMES) m.account.apply({ type: 'kmsFault', arn: MODEL_ARN[k], fault: 'unavailable' });
        m.faulted = true;
        return step('fault.kms', { fault: 'down', toxic: 'unavailable', from: 'provider' }, 'ok', ['EKM-12']);
      },
    ),
  );
  const faultOff = fc.constant(
    new StepCommand(
      'fault.clear',
      (m) => m.faulted,
      (m) => {
        for (const k of KEY_NAMES) m.account.apply({ type: 'kmsRecover', arn: MODEL_ARN[k] });
        m.faulted = false;
        return step('fault.clear', 'down', 'ok', ['EKM-13']);
      },
    ),
  );
  const clock = fc.constant(
    // Deletion waits 7 days and every generated deletion is scheduled before this jump, so 8 days destroys each pending key.
    new StepCommand(
      'clock.advance(8d)',
      (m) => !m.faulted,
      (m) => {
        for (const k of KEY_NAMES) if (m.lifecycle(k) === 'PendingDeletion') m.account.apply({ type: 'deletionDue', arn: MODEL_ARN[k] });
        return step('clock.advance', '8d', 'ok', ['EKM-18']);
      },
    ),
  );
  const drift = fc.integer({ min: 1, max: 5 }).map(
    (changes) =>
      new StepCommand(`tenant.drift(${changes})`, always, (m) => {
        m.drifts++;
        return step('tenant.drift', { changes, seed: m.drifts }, 'ok', ['EKM-11']);
      }),
  );
  const pick = fc.nat({ max: 7 });
  const backups = fc.constantFrom(backup('manualBackup'), backup('scheduledBackup'), secondBackup);
  const held = fc
    .tuple(fc.constantFrom(...HELD_AT), keyName, fc.constantFrom<'disableKey' | 'denyAccess'>('disableKey', 'denyAccess'))
    .map(([at, k, revoke]) => heldBackup(at, k, revoke));
  const reads = fc.oneof(
    pick.map((i) => read('restore', i)),
    pick.map((i) => read('download', i)),
  );
  const weighted: [fc.Arbitrary<fc.Command<ExploreModel, Plan>>, number][] = [
    [support, 1],
    [enable, 4],
    [submit, 1],
    [accept, 1],
    [decline, 1],
    [update, 2],
    [back, 1],
    [status, 1],
    [admin, 8],
    [clock, 1],
    [drift, 1],
    [faultOn, 1],
    [faultOff, 1],
    [backups, 6],
    [held, 2],
    [reads, 5],
  ];
  return weighted.flatMap(([arb, weight]) => Array.from({ length: weight }, () => arb));
}
