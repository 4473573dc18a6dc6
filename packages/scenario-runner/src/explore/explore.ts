/**
 * Model-based exploration (`ekm explore`): fast-check generates command sequences over every
 * actor (support, console, key administrator, tenant, workflows, clock); the domain model
 * plans each one into a scenario whose every step expects what the model predicts; the
 * scenario runs against the real world (provider + gateway + LocalStack + MSW tenant) with
 * fresh accounts and a fresh tenant, on the one running LocalStack. A step whose outcome
 * differs from the prediction fails the run; fast-check shrinks the sequence and the
 * shortest failing one is written to `scenarios/regressions/<rule-id>-<seed>.yaml`.
 *
 * Whole sequences run as scenarios (rather than stepping the world inside asyncModelRun) so
 * that the check during exploration is the very check `ekm run` makes on the written file:
 * a counterexample replays by construction, and the runner needs no second way in.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import fc from 'fast-check';
import type { ProviderBinding } from '@ekm/protocol';
import type { ScenarioResult } from '../results.ts';
import { failedStep } from '../results.ts';
import type { Executor } from '../schedule.ts';
import { openWorld, type World } from '../world.ts';
import { commandArbitraries, ExploreModel, Plan, type PlannedStep } from './commands.ts';
import { loadGenerated, scenarioText } from './scenario.ts';

export interface ExploreOptions {
  /** Sequences to generate (fast-check `numRuns`). Default 50. */
  readonly runs?: number;
  readonly seed?: number;
  /** Longest sequence generated. Default 16. */
  readonly maxCommands?: number;
  /** Where the regression scenario goes. Default `scenarios/regressions`. */
  readonly out?: string;
  /** fast-check path of a counterexample, to replay it without searching. */
  readonly path?: string;
  /** The world to run in (`openWorld`'s); by default one is opened (LocalStack found or started) and closed. */
  readonly world?: { readonly executor: Executor; withProvider?(provider: ProviderBinding): Executor };
  /** The provider to explore: the world's by default; with `world` absent, required. */
  readonly provider?: ProviderBinding;
  /** Said in the regression's header, e.g. which planted bug the provider carries. */
  readonly providerNote?: string;
  readonly signal?: AbortSignal;
  /** Progress lines, e.g. `console.error`. */
  readonly log?: (line: string) => void;
}

export interface Counterexample {
  /** The rule the failing step's disagreement violates. */
  readonly rule: string;
  readonly rules: readonly string[];
  /** The regression scenario written, relative to the working directory. */
  readonly file: string;
  /** Generated commands in the shrunk sequence: the file's steps after the opening ones. */
  readonly commands: number;
  readonly steps: number;
  readonly failure: string;
  readonly path: string;
  /** The written file run once more: it must fail again, or the finding is flaky. */
  readonly replayed: ScenarioResult['status'];
}

export interface ExploreReport {
  /** `interrupted`: the signal fired before the runs were done; nothing was found in those that ran. */
  readonly status: 'passed' | 'failed' | 'interrupted';
  readonly seed: number;
  readonly maxCommands: number;
  /** Sequences run against the world, shrinking included. */
  readonly sequences: number;
  /** Most steps in one sequence run. */
  readonly longest: number;
  readonly durationMs: number;
  readonly sequencesPerMinute: number;
  readonly counterexample?: Counterexample;
  /** How to run it again: the regression file with `ekm run`, or the same search. */
  readonly replay: string;
  readonly lines: readonly string[];
}

/** The world the explorer runs in: `openWorld`'s, which can also plant a bug (tests only). */
export type ExploreWorld = World;

/** Steps every sequence opens with (see `ExploreModel.opening`); they are not commands. */
export const OPENING_STEPS = new ExploreModel().opening().length;

/** Plans a command sequence with the model: the steps, each expecting the model's outcome. */
export function planSequence(commands: Iterable<fc.Command<ExploreModel, Plan>>): PlannedStep[] {
  const plan = new Plan();
  const model = new ExploreModel();
  const opening = model.opening();
  fc.modelRun(() => ({ model, real: plan }), commands);
  return plan.steps.length === 0 ? [] : [...opening, ...plan.steps];
}

interface Attempt {
  readonly steps: readonly PlannedStep[];
  readonly result: ScenarioResult;
}

function firstFailure(a: Attempt): { index: number; error: string } | undefined {
  const f = failedStep(a.result);
  return f === undefined ? undefined : { index: plannedIndex(a.steps, f.index), error: f.step.error ?? f.step.status };
}

/**
 * The planned step a result belongs to: a held step reports its inner steps before itself, so
 * results and planned steps part ways after the first `during`.
 * Regression: a planted-bug counterexample was named after the step before the one that failed.
 */
export function plannedIndex(planned: readonly PlannedStep[], resultIndex: number): number {
  let results = 0;
  for (const [i, step] of planned.entries()) {
    results += 1 + (step.during?.steps.length ?? 0);
    if (resultIndex < results) return i;
  }
  return planned.length - 1;
}

export async function explore(options: ExploreOptions = {}): Promise<ExploreReport> {
  const runs = options.runs ?? 50;
  const maxCommands = options.maxCommands ?? 16;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const out = options.out ?? 'scenarios/regressions';
  const log = options.log ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  if (options.world === undefined && options.provider === undefined) throw new Error('explore needs a world or a provider to explore');
  const world = options.world ?? (await openWorld({ localstack: 'auto', provider: options.provider! }));
  const owned = options.world === undefined ? (world as ExploreWorld) : undefined;
  let executor = world.executor;
  if (options.provider !== undefined && options.world !== undefined) {
    if (world.withProvider === undefined) throw new Error('exploring another provider needs a world from openWorld');
    executor = world.withProvider(options.provider);
  }
  const started = performance.now();
  let sequences = 0;
  let longest = 0;
  let lastFailing: Attempt | undefined;
  const run = async (steps: readonly PlannedStep[]): Promise<ScenarioResult> => {
    const text = scenarioText({ id: `explore-${seed}-${sequences}`, title: 'explored sequence', rules: ['EKM-11'], steps });
    const result = await executor(loadGenerated(text, `explore:${seed}:${sequences}`), { signal, index: sequences });
    sequences++;
    longest = Math.max(longest, steps.length);
    return result;
  };
  try {
    const property = fc.asyncProperty(fc.commands(commandArbitraries(), { maxCommands, size: 'max' }), async (commands) => {
      // Once interrupted, the remaining runs pass without touching the world, so fast-check ends quickly.
      if (signal.aborted) return;
      const steps = planSequence(commands);
      // Every command was refused by its precondition: nothing to run, nothing to disagree on.
      if (steps.length === 0) return;
      const result = await run(steps);
      const attempt = { steps, result };
      const failure = firstFailure(attempt);
      if (failure === undefined) return;
      lastFailing = attempt;
      log(`explore: sequence ${sequences} of ${steps.length} step(s) disagrees with the model at step ${failure.index + 1}: ${failure.error}`);
      throw new Error(failure.error);
    });
    const details = await fc.check(property, {
      seed,
      numRuns: runs,
      ...(options.path === undefined ? {} : { path: options.path }),
    });
    const durationMs = Math.round(performance.now() - started);
    const sequencesPerMinute = sequences === 0 ? 0 : Math.round((sequences / durationMs) * 60_000 * 10) / 10;
    const searchReplay = `ekm explore --runs ${runs} --seed ${seed} --max-commands ${maxCommands}`;
    const base = { seed, maxCommands, sequences, longest, durationMs, sequencesPerMinute };
    if (!details.failed && signal.aborted) {
      return {
        status: 'interrupted',
        ...base,
        replay: searchReplay,
        lines: [`explore: interrupted after ${sequences} sequence(s); none disagreed with the model (seed ${seed})`],
      };
    }
    if (!details.failed) {
      const lines = [`explore: ${sequences} sequence(s) of at most ${maxCommands} commands agree with the model (seed ${seed}, ${sequencesPerMinute}/min)`];
      return { status: 'passed', ...base, replay: searchReplay, lines };
    }
    const commands = details.counterexample?.[0];
    // The last failing run is the shrunk counterexample; plan it again from the commands to be sure.
    const planned = commands === undefined ? (lastFailing?.steps ?? []) : planSequence(commands);
    const result = lastFailing !== undefined && sameSteps(lastFailing.steps, planned) ? lastFailing.result : await run(planned);
    const failure = firstFailure({ steps: planned, result });
    // Steps after the disagreement never run (the runner skips them); the regression ends at it.
    const steps = failure === undefined ? planned : planned.slice(0, failure.index + 1);
    if (failure === undefined)
      throw new Error(`explore: the shrunk counterexample passed when run again (seed ${seed}, path ${details.counterexamplePath ?? '?'}); the world is flaky`);
    const rules = steps[failure.index]?.rules ?? ['EKM-11'];
    const rule = rules[0] ?? 'EKM-11';
    const path = details.counterexamplePath ?? '';
    const file = join(out, `${rule}-${seed}.yaml`);
    const text = scenarioText({
      id: `regression-${rule.toLowerCase()}-${seed}`,
      title: `Explorer counterexample: ${steps[failure.index]?.action ?? 'a step'} disagrees with the model (${rule})`,
      rules,
      comment: [
        `Found by the model-based explorer and shrunk by fast-check: ${steps.length - OPENING_STEPS} command(s) after ${OPENING_STEPS} opening steps.`,
        `Replay the search: ekm explore --runs ${runs} --seed ${seed} --max-commands ${maxCommands}`,
        `Replay the shrunk case only: explore({ seed: ${seed}, maxCommands: ${maxCommands}, path: '${path}' }) (fast-check seed and path)`,
        `fast-check commands (the file stops at the disagreement): ${String(commands ?? '?')}`,
        `Disagreement at step ${failure.index + 1}: ${oneLine(failure.error)}`,
        ...(options.providerNote === undefined ? [] : [options.providerNote]),
        'Every expect is what @ekm/domain predicts; this file fails while the bug is there.',
      ],
      steps,
    });
    loadGenerated(text, file);
    mkdirSync(resolve(out), { recursive: true });
    writeFileSync(resolve(file), text);
    const replayed = (await executor(loadGenerated(text, file), { signal, index: sequences })).status;
    const shown = relative(process.cwd(), resolve(file)) || file;
    const replay = `ekm run ${shown}`;
    const lines = [
      `explore: the world disagrees with the model (${rule}) after ${sequences} sequence(s); shrunk to ${steps.length - OPENING_STEPS} command(s) after ${OPENING_STEPS} opening steps`,
      `  step ${failure.index + 1}: ${oneLine(failure.error)}`,
      `  wrote ${shown}`,
      `  replay: ${replay}`,
      `  search again: ${searchReplay}`,
    ];
    return {
      status: 'failed',
      ...base,
      durationMs: Math.round(performance.now() - started),
      counterexample: { rule, rules, file: shown, commands: steps.length - OPENING_STEPS, steps: steps.length, failure: failure.error, path, replayed },
      replay,
      lines,
    };
  } finally {
    await owned?.close();
  }
}

function sameSteps(a: readonly PlannedStep[], b: readonly PlannedStep[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
