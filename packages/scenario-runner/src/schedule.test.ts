import { describe, expect, it } from 'vitest';
import { loadText } from './load.ts';
import type { LoadedScenario } from './load.ts';
import type { ScenarioResult } from './results.ts';
import { createProgress, grepPattern, runScenarios, selectGrep } from './schedule.ts';
import type { Executor } from './schedule.ts';

const scenarios: LoadedScenario[] = loadText(
  Array.from(
    { length: 7 },
    (_, i) =>
      `apiVersion: ekm.conformance/v1\nkind: Scenario\nid: s${i}\ntitle: scenario number ${i}\nrules: [EKM-${i % 2 === 0 ? '12' : '20'}]\ntags: [${i === 3 ? 'update' : 'misc'}]\nsteps:\n  - support.activate:\n  - admin.createKey: A\n`,
  ).join('---\n'),
  'area/file.yaml',
).scenarios as LoadedScenario[];

const passed = (s: LoadedScenario, durationMs = 1): ScenarioResult => ({
  id: s.scenario.id,
  title: s.scenario.title,
  file: s.file,
  status: 'passed',
  rules: s.scenario.rules,
  durationMs,
  steps: s.scenario.steps.map((x) => ({ title: x.title, status: 'passed', kmsCalls: [] })),
});

/** An executor whose every step errors, as a broken world would. */
const BROKEN = 'the world is broken';
const erroring: Executor = async (loaded) => ({
  id: loaded.scenario.id,
  title: loaded.scenario.title,
  file: loaded.file,
  status: 'failed',
  rules: loaded.scenario.rules,
  durationMs: 0,
  steps: loaded.scenario.steps.map((step, i) => ({
    title: step.title,
    status: 'error' as const,
    kmsCalls: [],
    error: BROKEN,
    ...(loaded.stepLines[i] === undefined ? {} : { line: loaded.stepLines[i]! }),
  })),
});

describe('runScenarios', () => {
  it('never runs more than `concurrency` at once, and keeps input order', async () => {
    expect(scenarios).toHaveLength(7);
    let running = 0;
    let peak = 0;
    const executor: Executor = async (s, ctx) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5 + ((ctx.index * 7) % 11)));
      running--;
      return passed(s);
    };
    const results = await runScenarios(scenarios, executor, { concurrency: 3 });
    expect(peak).toBe(3);
    expect(results.map((r) => r.id)).toEqual(scenarios.map((s) => s.scenario.id));
    const serial = await runScenarios(scenarios, executor, { concurrency: 1 });
    expect(serial).toHaveLength(7);
    expect(peak).toBe(3);
  });

  it('an executor that throws fails its scenario, not the run', async () => {
    const executor: Executor = async (s) => {
      if (s.scenario.id === 's2') throw new TypeError('boom');
      return passed(s);
    };
    const results = await runScenarios(scenarios, executor, { concurrency: 2 });
    expect(results.filter((r) => r.status === 'failed').map((r) => r.id)).toEqual(['s2']);
    expect(results[2]!.steps[0]!.error).toBe('the executor failed: TypeError: boom');
  });

  it('after an interrupt no new scenario starts, and the ones not run are interrupted, never failed', async () => {
    const controller = new AbortController();
    const started: string[] = [];
    const executor: Executor = async (s) => {
      started.push(s.scenario.id);
      if (s.scenario.id === 's1') controller.abort();
      return passed(s);
    };
    const results = await runScenarios(scenarios, executor, { concurrency: 1, signal: controller.signal });
    expect(started).toEqual(['s0', 's1']);
    expect(results.map((r) => r.status)).toEqual(['passed', 'passed', 'interrupted', 'interrupted', 'interrupted', 'interrupted', 'interrupted']);
    expect(results[2]).toMatchObject({ reason: 'not run: the run was interrupted before it started' });
  });

  it('a scenario whose steps error is failed, with each step at its line', async () => {
    const [r] = await runScenarios(scenarios.slice(0, 1), erroring, { concurrency: 1 });
    expect(r!.status).toBe('failed');
    expect(r!.steps.map((s) => [s.status, s.error, s.line])).toEqual([
      ['error', BROKEN, 8],
      ['error', BROKEN, 9],
    ]);
  });
});

describe('--grep', () => {
  it('matches id, title, rule ids, tags and file, case-insensitively', () => {
    const ids = (p: string) => selectGrep(scenarios, grepPattern(p)).map((s) => s.scenario.id);
    expect(ids('^s1$')).toEqual(['s1']);
    expect(ids('NUMBER 4')).toEqual(['s4']);
    expect(ids('EKM-20')).toEqual(['s1', 's3', 's5']);
    expect(ids('update')).toEqual(['s3']);
    expect(ids('area/')).toHaveLength(7);
    expect(() => grepPattern('(')).toThrow('--grep: expected a regular expression, found "("');
  });
});

describe('progress', () => {
  const run = async (isTTY: boolean) => {
    let text = '';
    const progress = createProgress({ isTTY, columns: 80, write: (t: string) => (text += t) });
    const executor: Executor = async (s) => (s.scenario.id === 's1' ? erroring(s, { signal: new AbortController().signal, index: 0 }) : passed(s, 3));
    await runScenarios(scenarios.slice(0, 2), executor, { concurrency: 2, progress });
    return text;
  };

  it('prints plain lines when not on a terminal, naming the failing step and its line', async () => {
    expect(await run(false)).toBe(`running 2 scenario(s)\nPASS s0 (3 ms)\nFAIL s1: step 1 "support.activate" (area/file.yaml:18): ${BROKEN}\n`);
  });

  it('rewrites a status line in place on a terminal', async () => {
    const text = await run(true);
    expect(text).toContain('\r\x1b[2K[0/2] running: s0, s1');
    expect(text).toContain('\x1b[32mPASS\x1b[0m s0');
    expect(text).toContain('\x1b[31mFAIL\x1b[0m s1');
  });
});
