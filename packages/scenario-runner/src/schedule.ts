/**
 * Picking and running scenarios: sharding, `--grep`, a concurrency limit, progress.
 * What a step does is the executor's business; the scheduler only orders and counts.
 */
import type { LoadedScenario } from './load.ts';
import type { ScenarioResult } from './results.ts';
import { compare, failedStep } from './results.ts';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
}

/** `"2/3"` -> `{ index: 2, count: 3 }`. */
export function parseShard(text: string): Shard {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (!(count >= 1 && index >= 1 && index <= count)) {
    throw new ArgumentError(`--shard: expected i/n with 1 <= i <= n (e.g. 1/2), found "${text}"`);
  }
  return { index, count };
}

/**
 * The scenarios of one shard: sorted by id, then every n-th, so the split does not
 * depend on file order or the machine and neighbouring (similar) scenarios spread out.
 */
export function selectShard<T extends { readonly scenario: { readonly id: string } }>(items: readonly T[], shard: Shard): T[] {
  return [...items].sort((a, b) => compare(a.scenario.id, b.scenario.id)).filter((_, i) => i % shard.count === shard.index - 1);
}

export function grepPattern(text: string): RegExp {
  try {
    return new RegExp(text, 'i');
  } catch {
    throw new ArgumentError(`--grep: expected a regular expression, found "${text}"`);
  }
}

/** `--grep` matches the id, the title, the rule ids, the tags or the file. */
export function selectGrep(items: readonly LoadedScenario[], pattern: RegExp): LoadedScenario[] {
  return items.filter(({ scenario: s, file }) => [s.id, s.title, file, ...s.rules, ...(s.tags ?? [])].some((text) => pattern.test(text)));
}

export interface ExecutionContext {
  /** Aborted when the run is interrupted; executors stop their world work. */
  readonly signal: AbortSignal;
  /** Position of the scenario in this run, 0-based; a seed for per-scenario account ids. */
  readonly index: number;
}

export type Executor = (scenario: LoadedScenario, ctx: ExecutionContext) => Promise<ScenarioResult>;

export interface Progress {
  start(total: number): void;
  scenarioStarted(s: LoadedScenario): void;
  scenarioFinished(r: ScenarioResult): void;
  end(): void;
}

export const silentProgress: Progress = { start() {}, scenarioStarted() {}, scenarioFinished() {}, end() {} };

export interface ScheduleOptions {
  readonly concurrency: number;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

/** Runs every scenario, at most `concurrency` at once; results keep the input order. */
export async function runScenarios(scenarios: readonly LoadedScenario[], executor: Executor, options: ScheduleOptions): Promise<ScenarioResult[]> {
  const progress = options.progress ?? silentProgress;
  const signal = options.signal ?? new AbortController().signal;
  const results: ScenarioResult[] = new Array(scenarios.length);
  let next = 0;
  progress.start(scenarios.length);
  const worker = async (): Promise<void> => {
    while (next < scenarios.length) {
      const index = next++;
      const s = scenarios[index]!;
      if (signal.aborted) {
        // Not run is not passed: an interrupted run must not gate green.
        results[index] = notRun(s);
        continue;
      }
      progress.scenarioStarted(s);
      const started = performance.now();
      let result: ScenarioResult;
      try {
        result = await executor(s, { signal, index });
      } catch (err) {
        result = crashed(s, err, performance.now() - started);
      }
      // A scenario cut short by the interruption (its world closing under it) did not fail: it was interrupted.
      if (signal.aborted && result.status !== 'passed') result = interrupted(s, 'in flight when the run was interrupted', result.durationMs);
      results[index] = result;
      progress.scenarioFinished(result);
    }
  };
  const width = Math.max(1, Math.min(Math.floor(options.concurrency), scenarios.length));
  await Promise.all(Array.from({ length: width }, worker));
  progress.end();
  return results;
}

/** A scenario that failed as a whole: one pseudo-step says why. */
function wholeFailure(s: LoadedScenario, status: 'skipped' | 'error', error: string, durationMs = 0): ScenarioResult {
  return {
    id: s.scenario.id,
    title: s.scenario.title,
    file: s.file,
    line: s.line,
    status: 'failed',
    rules: s.scenario.rules,
    durationMs: Math.round(durationMs),
    steps: [{ title: 'run the scenario', status, kmsCalls: [], error, line: s.line }],
  };
}

function notRun(s: LoadedScenario): ScenarioResult {
  return interrupted(s, 'not run: the run was interrupted before it started');
}

/** Not run, or cut short, by an interruption: never passed, never failed. */
function interrupted(s: LoadedScenario, reason: string, durationMs = 0): ScenarioResult {
  return { ...wholeFailure(s, 'skipped', reason, durationMs), status: 'interrupted', reason };
}

/** An executor that throws is a failed scenario, not a failed run. */
function crashed(s: LoadedScenario, err: unknown, durationMs: number): ScenarioResult {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return wholeFailure(s, 'error', `the executor failed: ${message}`, durationMs);
}

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * A line per finished scenario; on a terminal, also a status line rewritten in
 * place with what is running now.
 */
export function createProgress(out: ProgressStream): Progress {
  const tty = out.isTTY === true;
  const running = new Set<string>();
  let total = 0;
  let done = 0;
  let failed = 0;
  const status = (): void => {
    if (!tty) return;
    const names = [...running].join(', ');
    const line = `[${done}/${total}] ${failed > 0 ? `${failed} failed, ` : ''}running: ${names}`;
    const width = Math.max(20, (out.columns ?? 100) - 1);
    out.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 3)}...` : line}`);
  };
  const clear = (): void => {
    if (tty) out.write('\r\x1b[2K');
  };
  return {
    start(n) {
      total = n;
      out.write(`running ${n} scenario(s)\n`);
    },
    scenarioStarted(s) {
      running.add(s.scenario.id);
      status();
    },
    scenarioFinished(r) {
      running.delete(r.id);
      done++;
      clear();
      if (r.status === 'passed') {
        out.write(`${tty ? '\x1b[32mPASS\x1b[0m' : 'PASS'} ${r.id} (${r.durationMs} ms)\n`);
      } else if (r.status === 'interrupted') {
        out.write(`${tty ? '\x1b[33mINT \x1b[0m' : 'INT '} ${r.id}: ${r.reason ?? 'interrupted'}\n`);
      } else if (r.status === 'not-applicable') {
        out.write(`${tty ? '\x1b[33mN/A \x1b[0m' : 'N/A '} ${r.id}: not applicable: ${r.reason ?? ''}\n`);
      } else if (r.status === 'skipped') {
        const why = r.steps.find((x) => x.status === 'skipped')?.error ?? 'not applicable here';
        out.write(`${tty ? '\x1b[33mSKIP\x1b[0m' : 'SKIP'} ${r.id}: ${why}\n`);
      } else {
        failed++;
        const f = failedStep(r);
        const where =
          f === undefined
            ? ''
            : `: step ${f.index + 1} "${f.step.title}"${f.step.line !== undefined ? ` (${r.file}:${f.step.line})` : ''}: ${f.step.error ?? f.step.status}`;
        out.write(`${tty ? '\x1b[31mFAIL\x1b[0m' : 'FAIL'} ${r.id}${where}\n`);
      }
      status();
    },
    end() {
      clear();
    },
  };
}
