import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOUD_KEY,
  consoleView,
  decide,
  ekmInForce,
  isKeyCommand,
  TRANSITIONS,
  transitionById,
  workflowOutcome,
  WORKFLOWS,
  type AccountState,
  type Command,
} from './account.ts';
import { ARN, command, commands, enableWith, freshAccount, history, keyCommand, keyCommandOn, NUM_RUNS, PREFIXES, run, USABLE_ARNS } from './arbitrary.ts';
import { KEY_TRANSITIONS, type KeyCommand } from './key.ts';

const params = { numRuns: NUM_RUNS };

/** Runs commands from a fresh account, checking `each` after every step. */
function walk(cmds: readonly Command[], each: (before: AccountState, command: Command, after: AccountState, d: ReturnType<typeof decide>) => void, start = freshAccount()): AccountState {
  let s = start;
  for (const c of cmds) {
    const d = decide(s, c);
    each(s, c, d.state, d);
    s = d.state;
  }
  return s;
}

/** A reachable EKM state: enabled with some key, then any history. */
const ekmState = fc
  .tuple(fc.constantFrom(...USABLE_ARNS), commands)
  .map(([arn, rest]) => run(run(freshAccount(), enableWith(arn)), rest));

/** Gives the key every kind of access back: the moves of EKM-13, in an order KMS accepts. */
function regrant(state: AccountState, arn: string): AccountState {
  const cmds: KeyCommand[] = [
    { type: 'kmsRecover', arn },
    { type: 'allowAccess', arn },
    { type: 'cancelDeletion', arn },
    { type: 'enableKey', arn },
    { type: 'reimportMaterial', arn },
  ];
  return run(state, cmds);
}

const revocation = (arn: string) =>
  fc.constantFrom<KeyCommand>(
    { type: 'disableKey', arn },
    { type: 'denyAccess', arn },
    { type: 'scheduleDeletion', arn },
    { type: 'deleteMaterial', arn },
  );

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

describe('state machine properties', () => {
  it('[EKM-09] there is no way back to Cloud Key Management', () => {
    fc.assert(
      fc.property(history, (cmds) => {
        let reached = false;
        walk(cmds, (before, c, after, d) => {
          reached ||= ekmInForce(after.phase);
          if (reached) {
            expect(ekmInForce(after.phase)).toBe(true);
            expect(consoleView(after).cloudKeyManagement).toBe('Disabled');
          }
          if (c.type === 'returnToCloudKms' && ekmInForce(before.phase)) expect(d.refusal?.code).toBe('CannotReturnToCloudKms');
        });
      }),
      params,
    );
  });

  it('[EKM-10] [EKM-14] at most one key ARN is in force, exactly while EKM is in force', () => {
    fc.assert(
      fc.property(history, (cmds) => {
        walk(cmds, (_b, _c, s) => {
          expect(s.activeArn !== undefined).toBe(ekmInForce(s.phase));
          expect(consoleView(s).keyArn).toBe(s.activeArn);
          expect(s.pendingArn !== undefined).toBe(['arnValidated', 'termsShown', 'updating'].includes(s.phase));
          if (s.phase === 'updating') expect(s.pendingArn).not.toBe(s.activeArn);
          // Every snapshot sits under the one key in force.
          for (const snap of s.snapshots) expect(snap.protectedBy).toEqual([s.activeArn ?? CLOUD_KEY]);
        });
      }),
      params,
    );
  });

  it('[EKM-15] [EKM-08] an update never leaves any snapshot protected by neither key', () => {
    fc.assert(
      fc.property(fc.constantFrom(...USABLE_ARNS), commands, (arn, cmds) => {
        walk([...enableWith(arn), ...cmds], (before, _c, after) => {
          for (const s of [before, after]) {
            if (!ekmInForce(s.phase)) continue;
            for (const snap of s.snapshots) {
              expect(snap.protectedBy.length).toBeGreaterThan(0);
              expect(snap.protectedBy.every((k) => k === s.activeArn || k === s.pendingArn)).toBe(true);
            }
          }
          // Snapshots are never lost, whatever the command.
          expect(after.snapshots.map((x) => x.id)).toEqual(expect.arrayContaining(before.snapshots.map((x) => x.id)));
        });
      }),
      params,
    );
  });

  it('[EKM-12] [EKM-19] a revoked key yields a revocation failure for every workflow, committing nothing', () => {
    fc.assert(
      fc.property(
        ekmState.chain((s) => fc.tuple(fc.constant(s), fc.array(revocation(s.activeArn!), { minLength: 1, maxLength: 4 }))),
        ([start, revoke]) => {
          const ready = run(regrant(start, start.activeArn!), [{ type: 'manualBackup' }]);
          fc.pre(workflowOutcome(ready, 'restore').ok); // a deleted key cannot be granted back
          const revoked = run(ready, revoke);
          fc.pre(revoked.keys[revoked.activeArn!]?.lifecycle !== 'Deleted');
          const key = revoked.keys[revoked.activeArn!]!;
          fc.pre(key.lifecycle !== 'Enabled' || key.access === 'denied' || key.material === 'missing');
          for (const w of WORKFLOWS) {
            const d = decide(revoked, { type: w });
            expect(d.refusal?.kind).toBe('revocation');
            expect(d.state).toBe(revoked);
          }
        },
      ),
      params,
    );
  });

  it('[EKM-13] re-granting access restores every workflow and every earlier backup', () => {
    fc.assert(
      fc.property(ekmState, (start) => {
        const arn = start.activeArn!;
        fc.pre(start.keys[arn]?.lifecycle !== 'Deleted');
        const back = regrant(start, arn);
        for (const w of WORKFLOWS) {
          if (w === 'restore' || w === 'download') {
            for (const snap of back.snapshots) expect(workflowOutcome(back, w, { snapshotId: snap.id }).ok).toBe(true);
          } else {
            expect(workflowOutcome(back, w).ok).toBe(true);
          }
        }
      }),
      params,
    );
  });

  it('[EKM-18] after deletion the data is unrecoverable for good, never transient', () => {
    fc.assert(
      fc.property(ekmState, commands, (start, later) => {
        const arn = start.activeArn!;
        const destroyed = run(start, [{ type: 'scheduleDeletion', arn }, { type: 'deletionDue', arn }]);
        fc.pre(destroyed.keys[arn]?.lifecycle === 'Deleted');
        const lost = destroyed.snapshots.filter((s) => s.protectedBy.includes(arn)).map((s) => s.id);
        walk(
          later,
          (_b, _c, s) => {
            for (const id of lost) {
              for (const w of ['restore', 'download'] as const) {
                const o = workflowOutcome(s, w, { snapshotId: id });
                expect(o.ok).toBe(false);
                if (!o.ok) expect(o.failure).toMatchObject({ code: 'DataUnrecoverable', kind: 'permanent' });
              }
            }
            if (s.activeArn === arn) {
              const o = workflowOutcome(s, 'scheduledBackup');
              expect(!o.ok && o.failure.kind).toBe('permanent');
            }
          },
          destroyed,
        );
      }),
      params,
    );
  });

  it('[EKM-16] once an update completed, nothing done to the old key changes any workflow', () => {
    fc.assert(
      fc.property(ekmState, fc.array(keyCommand, { maxLength: 10 }), (start, noise) => {
        const oldArn = start.activeArn!;
        const newArn = USABLE_ARNS.find((a) => a !== oldArn)!;
        const updated = run(regrant(regrant(start, oldArn), newArn), [
          { type: 'completeUpdate' }, // finish any update already in progress first
          { type: 'updateKey', input: newArn },
          { type: 'completeUpdate' },
        ]);
        fc.pre(updated.activeArn === newArn && updated.phase === 'ekmEnabled');
        const onOld = noise.map((c) => ({ ...c, arn: oldArn }) as KeyCommand);
        const after = run(updated, onOld);
        for (const w of WORKFLOWS) expect(workflowOutcome(after, w)).toEqual(workflowOutcome(updated, w));
      }),
      params,
    );
  });

  it('[EKM-17] rotating any key never changes the outcome of any workflow', () => {
    fc.assert(
      fc.property(ekmState, fc.constantFrom(...Object.values(ARN)), (s, arn) => {
        const rotated = decide(s, { type: 'rotateKey', arn }).state;
        for (const w of WORKFLOWS) {
          for (const id of [undefined, ...s.snapshots.map((x) => x.id)]) {
            const opts = id === undefined ? {} : { snapshotId: id };
            expect(workflowOutcome(rotated, w, opts)).toEqual(workflowOutcome(s, w, opts));
          }
        }
      }),
      params,
    );
  });

  it('[EKM-06] [EKM-07] [EKM-12] rejections, refusals and failed workflows change nothing', () => {
    fc.assert(
      fc.property(history, (cmds) => {
        walk(cmds, (before, c, after, d) => {
          if (d.refusal !== undefined && !d.transition.endsWith('.acceptTerms.failed') && !d.transition.endsWith('.completeUpdate.failed')) {
            expect(after).toBe(before);
          }
          if (c.type === 'declineTerms' && d.refusal === undefined) {
            expect(after.phase).toBe('cloudKms');
            expect(after.snapshots).toBe(before.snapshots);
            expect(after.activeArn).toBeUndefined();
          }
        });
      }),
      params,
    );
  });

  it('decide is pure and every decision names a listed transition that matches it', () => {
    fc.assert(
      fc.property(history, (cmds) => {
        walk(cmds.map(deepFreeze), (before, c, after, d) => {
          deepFreeze(before);
          if (isKeyCommand(c)) {
            const t = KEY_TRANSITIONS.find((k) => k.id === d.transition);
            expect(t, d.transition).toBeDefined();
            expect(t!.command).toBe(c.type);
            expect(t!.refusal).toBe(d.refusal?.code);
            expect(after.phase).toBe(before.phase);
            return;
          }
          const t = transitionById(d.transition);
          expect(t, d.transition).toBeDefined();
          expect([t!.from, t!.command, t!.to]).toEqual([before.phase, c.type, after.phase]);
          if (t!.refusal !== undefined) expect(d.refusal?.code).toBe(t!.refusal);
          const failedOutcome = /\.(failed|rejected|refused)$/.test(t!.id);
          expect(d.refusal !== undefined).toBe(failedOutcome);
        });
      }),
      params,
    );
  });
});

describe('transition list', () => {
  it('has unique ids and one entry for every phase and command', () => {
    expect(new Set(TRANSITIONS.map((t) => t.id)).size).toBe(TRANSITIONS.length);
    expect(new Set(KEY_TRANSITIONS.map((t) => t.id)).size).toBe(KEY_TRANSITIONS.length);
  });

  it('every listed transition is reachable from a fresh account', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.constantFrom(...PREFIXES), fc.array(fc.oneof(command, keyCommandOn([ARN.external])), { minLength: 10, maxLength: 80 }), (prefix, cmds) => {
        walk([...prefix, ...cmds], (_b, _c, _a, d) => seen.add(d.transition));
      }),
      { numRuns: Math.max(NUM_RUNS, 2000), seed: 42 },
    );
    const missing = [...TRANSITIONS, ...KEY_TRANSITIONS].map((t) => t.id).filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
  });
});
