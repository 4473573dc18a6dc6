import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAILURE_CODES } from '@ekm/domain';
import { commandArbitraries, ExploreModel, Plan } from './commands.ts';
import { OPENING_STEPS, planSequence } from './explore.ts';
import { loadGenerated, scenarioText } from './scenario.ts';

const known = new Set<string>(['ok', ...FAILURE_CODES]);

describe('explorer planning', () => {
  it('[EKM-11] every planned sequence is a valid scenario whose steps expect ok or a code of FAILURES', () => {
    fc.assert(
      fc.property(fc.commands(commandArbitraries(), { maxCommands: 24, size: 'max' }), (commands) => {
        const steps = planSequence(commands);
        if (steps.length === 0) return;
        const loaded = loadGenerated(scenarioText({ id: 'planned', title: 'planned', rules: ['EKM-11'], steps }), 'planned.yaml');
        expect(loaded.scenario.steps).toHaveLength(steps.length);
        for (const step of loaded.scenario.steps.slice(OPENING_STEPS)) {
          const outcome = step.expect?.outcome;
          expect(typeof outcome === 'string' && known.has(outcome)).toBe(true);
        }
      }),
      { numRuns: 300, seed: 9 },
    );
  });

  it('[EKM-12][EKM-19] the model predicts a backup after disabling a key already used fails KeyDisabled, and names EKM-19 first', () => {
    const model = new ExploreModel();
    model.opening();
    const plan = new Plan();
    const byLabel = new Map(fc.sample(fc.oneof(...commandArbitraries()), { numRuns: 3000, seed: 1 }).map((c) => [c.toString(), c]));
    for (const label of ['console.enable(A)', 'workflow.manualBackup', 'admin.disableKey(A)', 'workflow.manualBackup']) {
      const command = byLabel.get(label)!;
      expect(command.check(model)).toBe(true);
      command.run(model, plan);
    }
    const last = plan.steps.at(-1)!;
    expect(last.expect).toEqual({ outcome: 'KeyDisabled', data: { noNewSnapshot: true } });
    expect(last.rules[0]).toBe('EKM-19');
    expect(plan.steps[0]!.expect).toEqual({ outcome: 'ok' });
  });

  it('[EKM-19][EKM-20] plans revocations during held backups, taken after the backup, and backups of a second tenant', () => {
    let held = 0;
    let second = 0;
    fc.assert(
      fc.property(fc.commands(commandArbitraries(), { maxCommands: 16 }), (commands) => {
        for (const s of planSequence(commands)) {
          if (s.during !== undefined) {
            held++;
            // Only a backup the model says succeeds is held: one that fails never reaches its pause point.
            expect(s.expect?.['outcome']).toBe('ok');
            expect(s.during.steps.map((x) => x.action).every((a) => a === 'admin.disableKey' || a === 'admin.editKeyPolicy')).toBe(true);
          }
          if (JSON.stringify(s.args).includes('"tenant":"second"')) second++;
        }
      }),
      { numRuns: 200, seed: 1 },
    );
    expect(held).toBeGreaterThan(20);
    expect(second).toBeGreaterThan(20);
  });

  it('[EKM-19] a revocation held inside a backup bites at the next backup, not the held one', () => {
    const model = new ExploreModel();
    model.opening();
    const plan = new Plan();
    const byLabel = new Map(fc.sample(fc.oneof(...commandArbitraries()), { numRuns: 5000, seed: 2 }).map((c) => [c.toString(), c]));
    for (const label of ['console.enable(A)', 'workflow.manualBackup held at backup.keyUnwrapped (disableKey(A))', 'workflow.manualBackup']) {
      const command = byLabel.get(label);
      expect(command, label).toBeDefined();
      command!.run(model, plan);
    }
    const [heldStep, next] = plan.steps.slice(-2);
    expect(heldStep!.expect).toEqual({ outcome: 'ok' });
    expect(heldStep!.during).toEqual({ at: 'backup.keyUnwrapped', steps: [expect.objectContaining({ action: 'admin.disableKey', args: 'A' })] });
    expect(next!.expect).toEqual({ outcome: 'KeyDisabled', data: { noNewSnapshot: true } });
  });
});

describe('plannedIndex', () => {
  it('[EKM-19] maps a failed result to its planned step across held steps (their inner steps report first)', async () => {
    const { plannedIndex } = await import('./explore.ts');
    const plain = { action: 'workflow.manualBackup', args: 's1', rules: ['EKM-11'] };
    const held = { ...plain, during: { at: 'backup.keyUnwrapped', steps: [{ action: 'admin.disableKey', args: 'A', rules: ['EKM-19'] }] } };
    const planned = [plain, held, plain];
    expect([0, 1, 2, 3].map((r) => plannedIndex(planned, r))).toEqual([0, 1, 1, 2]);
  });
});
