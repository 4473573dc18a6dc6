/** One conformance run from paths to results: load, select, run, build results. */
import type { LoadOptions, LocatedError } from './load.ts';
import { loadScenarios } from './load.ts';
import type { Results, CatalogueRule, ProviderUnderTest } from './results.ts';
import { buildResults } from './results.ts';
import type { Executor, Progress, Shard } from './schedule.ts';
import { grepPattern, runScenarios, selectGrep, selectShard } from './schedule.ts';

export interface SuiteOptions {
  readonly paths: readonly string[];
  readonly executor: Executor;
  readonly rules: readonly CatalogueRule[];
  readonly transitions?: readonly string[];
  readonly concurrency: number;
  readonly grep?: string;
  readonly shard?: Shard;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  readonly cwd?: string;
  readonly provider?: ProviderUnderTest;
}

export async function runSuite(options: SuiteOptions): Promise<{ results: Results; errors: readonly LocatedError[]; files: readonly string[] }> {
  const started = performance.now();
  const pattern = options.grep === undefined ? undefined : grepPattern(options.grep);
  const loadOptions: LoadOptions & { cwd?: string } = {
    ruleIds: options.rules.map((r) => r.id),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  };
  const loaded = await loadScenarios(options.paths, loadOptions);
  // Shard before grep: shards split the whole suite the same way whatever the filter.
  const sharded = options.shard === undefined ? [...loaded.scenarios] : selectShard(loaded.scenarios, options.shard);
  const chosen = pattern === undefined ? sharded : selectGrep(sharded, pattern);
  const scenarioResults = await runScenarios(chosen, options.executor, {
    concurrency: options.concurrency,
    ...(options.progress === undefined ? {} : { progress: options.progress }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const results = buildResults(scenarioResults, {
    rules: options.rules,
    transitions: options.transitions ?? [],
    durationMs: performance.now() - started,
    errors: loaded.errors,
    ...(options.shard === undefined ? {} : { shard: { ...options.shard, suiteScenarios: loaded.scenarios.length } }),
    ...(options.grep === undefined ? {} : { grep: options.grep }),
    ...(options.provider === undefined ? {} : { provider: options.provider }),
  });
  return { results, errors: loaded.errors, files: loaded.files };
}
