/**
 * The run model: what an executor reports per scenario, and `results.json`, the one
 * document every reporter, `ekm rules` and `ekm report merge` read.
 */
import type { SecretScanSummary } from './secrets.ts';
import type { LocatedError } from './load.ts';
import { formatError } from './load.ts';

/** One rule of the catalogue, as `RULES` in @ekm/domain gives it. */
export interface CatalogueRule {
  readonly id: string;
  readonly title: string;
  readonly kind: string;
  /** The help article's words the rule rests on. */
  readonly quote: string;
  /** The project's position where the article is silent. */
  readonly position?: string;
}

export interface KmsCall {
  readonly operation: string;
  /** Account role (`provider`, `customer`, `other`), not the run's 12-digit id. */
  readonly from: string;
  /** The scenario's local key name when the call hit a named key. */
  readonly key?: string;
  readonly encryptionContext?: Readonly<Record<string, string>>;
  /** `ok` or the failure code the call ended with. */
  readonly result: string;
}

export type StepStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface StepResult {
  readonly title: string;
  readonly status: StepStatus;
  readonly kmsCalls: readonly KmsCall[];
  /** What went wrong: the expectation that did not hold, or the executor's error. */
  readonly error?: string;
  readonly durationMs?: number;
  /** Line of the step in its file. */
  readonly line?: number;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly file: string;
  /** Line of the scenario's document start in its file. */
  readonly line?: number;
  /** The scenario's tags, for filtering reports. */
  readonly tags?: readonly string[];
  /**
   * `skipped`: the scenario cannot run in this environment; its first skipped step says why.
   * `not-applicable`: it needs a capability the provider under test does not declare (`reason`).
   * Neither passes nor fails; a rule counts as passed only through applicable scenarios that passed.
   */
  readonly status: 'passed' | 'failed' | 'skipped' | 'not-applicable' | 'interrupted';
  /** Why the scenario was not applicable, or how the interruption met it. */
  readonly reason?: string;
  readonly rules: readonly string[];
  readonly durationMs: number;
  readonly steps: readonly StepResult[];
  /** State-machine transitions the scenario went through, by id. */
  readonly transitions?: readonly string[];
  /** Workflows run while a fault was active, by fault kind (`kms-throttle`, `graph-429`, `localstack-freeze`...). */
  readonly reliability?: Readonly<Record<string, WorkflowTally>>;
}

/** What became of the workflows run under one kind of fault. `lost` must be 0. */
export interface WorkflowTally {
  attempted: number;
  succeeded: number;
  /** Failed with a transient or revocation reason and committed nothing. */
  failedCleanly: number;
  /** Failed otherwise: a permanent error, or a partial commit. */
  failedBadly: number;
  /** A snapshot reported complete that did not restore exactly, or a failed backup that left a complete-looking snapshot. */
  lost: number;
}

export function addTallies(into: Record<string, WorkflowTally>, from: Readonly<Record<string, WorkflowTally>>): Record<string, WorkflowTally> {
  for (const [fault, t] of Object.entries(from)) {
    into[fault] ??= { attempted: 0, succeeded: 0, failedCleanly: 0, failedBadly: 0, lost: 0 };
    const sum = into[fault];
    sum.attempted += t.attempted;
    sum.succeeded += t.succeeded;
    sum.failedCleanly += t.failedCleanly;
    sum.failedBadly += t.failedBadly;
    sum.lost += t.lost;
  }
  return into;
}

/** The step a failed scenario is reported at: the first failed or errored step, else the first skipped one with a reason. */
export function failedStep(s: ScenarioResult): { index: number; step: StepResult } | undefined {
  let index = s.steps.findIndex((x) => x.status === 'failed' || x.status === 'error');
  if (index < 0) index = s.steps.findIndex((x) => x.status === 'skipped' && x.error !== undefined);
  const step = s.steps[index];
  return step === undefined ? undefined : { index, step };
}

export type RuleStatus = 'passed' | 'failed' | 'uncovered';

export interface ShardInfo {
  readonly index: number;
  readonly count: number;
  /** Scenarios in the whole suite before sharding, so that a merge can tell a shard is missing. */
  readonly suiteScenarios: number;
}

export interface Results {
  readonly version: 1;
  readonly summary: {
    scenarios: number;
    passed: number;
    failed: number;
    skipped?: number;
    notApplicable?: number;
    interrupted?: number;
    invalidFiles: number;
    durationMs: number;
  };
  /** The one verdict of the run: the exit code, the closing line, junit.xml and index.html all show it. */
  readonly verdict?: Verdict;
  /** What was asked for: a subset (paths, --grep, --shard) is gated on coverage only with requireAllRules. */
  readonly selection?: Selection;
  /** Set when a signal stopped the run. */
  readonly interrupted?: { readonly signal: string };
  readonly provenance?: Provenance;
  /** The provider under test, as it declared itself through `ekm.provider/v1`, and how it was reached. */
  readonly provider?: ProviderUnderTest;
  readonly rules: readonly { id: string; title: string; kind: string; quote: string; position?: string; status: RuleStatus; scenarios: string[] }[];
  readonly scenarios: readonly ScenarioResult[];
  readonly transitions: { total: number; covered: number; coveredIds: string[] };
  /** Invalid scenario files, as `file:line:column: message`. */
  readonly errors: readonly string[];
  /** Every plaintext key the run handled, searched for in everything it wrote (snapshot objects, downloads, audit trail, logs). */
  readonly secretScan?: SecretScanSummary;
  /** Workflows under each kind of fault, summed over the scenarios (absent when none ran under a fault). */
  readonly reliability?: Readonly<Record<string, WorkflowTally>>;
  /** Set for shard runs; absent for full runs and merges. */
  readonly shard?: ShardInfo;
  /** `grep` filter applied, if any: coverage of a filtered run is partial by design. */
  readonly grep?: string;
}

export interface Verdict {
  readonly ok: boolean;
  readonly status: 'passed' | 'failed' | 'interrupted';
  /** `full`: every rule must be covered; `partial`: a subset, gated on what it ran. */
  readonly scope: 'full' | 'partial';
  readonly reasons: readonly string[];
}

export interface Selection {
  readonly paths: readonly string[];
  /** The paths are the whole suite (no path given, no --grep, no --shard). */
  readonly full: boolean;
  readonly requireAllRules: boolean;
}

/** Where a result came from, so a bundle can be checked and reproduced. */
export interface Provenance {
  readonly startedAt: string;
  readonly harness: { readonly name: string; readonly version: string; readonly commit?: string };
  /** SHA-256 over the selected scenario files (sorted path, NUL, content, NUL each). */
  readonly scenarioFilesSha256: string;
  readonly scenarioFiles: readonly { readonly file: string; readonly sha256: string }[];
  readonly node: string;
  readonly platform: string;
  readonly localstack?: { readonly mode: string; readonly endpoint: string; readonly version?: string };
  readonly seeds?: Readonly<Record<string, number>>;
}

export interface ProviderUnderTest {
  readonly name: string;
  readonly version: string;
  readonly protocol: string;
  /** `in-process` (a module), or `http` (a URL). */
  readonly binding: 'in-process' | 'http';
  /** The URL or module path, when not the default reference provider. */
  readonly location?: string;
  readonly capabilities: readonly string[];
}

export interface BuildOptions {
  readonly provider?: ProviderUnderTest;
  readonly rules: readonly CatalogueRule[];
  /** Every transition id of the EKM state machine; empty until the world reports them. */
  readonly transitions?: readonly string[];
  readonly durationMs: number;
  readonly errors?: readonly (LocatedError | string)[];
  readonly shard?: ShardInfo;
  readonly grep?: string;
}

export function buildResults(scenarios: readonly ScenarioResult[], options: BuildOptions): Results {
  const sorted = [...scenarios].sort((a, b) => compare(a.id, b.id));
  const rules = options.rules.map((rule) => {
    const naming = sorted.filter((s) => s.rules.includes(rule.id));
    // A scenario skipped here, or not applicable to the provider, proves nothing: a rule only it names stays uncovered.
    const ran = naming.filter((s) => s.status === 'passed' || s.status === 'failed');
    const status: RuleStatus = ran.length === 0 ? 'uncovered' : ran.some((s) => s.status === 'failed') ? 'failed' : 'passed';
    return {
      id: rule.id,
      title: rule.title,
      kind: rule.kind,
      quote: rule.quote,
      ...(rule.position === undefined ? {} : { position: rule.position }),
      status,
      scenarios: naming.map((s) => s.id),
    };
  });
  const all = options.transitions ?? [];
  const seen = new Set(sorted.flatMap((s) => s.transitions ?? []));
  const coveredIds = all.filter((t) => seen.has(t));
  const errors = (options.errors ?? []).map((e) => (typeof e === 'string' ? e : formatError(e)));
  const passed = sorted.filter((s) => s.status === 'passed').length;
  const skipped = sorted.filter((s) => s.status === 'skipped').length;
  const notApplicable = sorted.filter((s) => s.status === 'not-applicable').length;
  const interrupted = sorted.filter((s) => s.status === 'interrupted').length;
  const reliability: Record<string, WorkflowTally> = {};
  for (const s of sorted) addTallies(reliability, s.reliability ?? {});
  return {
    version: 1,
    summary: {
      scenarios: sorted.length,
      passed,
      failed: sorted.length - passed - skipped - notApplicable - interrupted,
      skipped,
      ...(notApplicable === 0 ? {} : { notApplicable }),
      ...(interrupted === 0 ? {} : { interrupted }),
      invalidFiles: new Set(errors.map((e) => e.split(':')[0])).size,
      durationMs: Math.round(options.durationMs),
    },
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    rules,
    scenarios: sorted,
    transitions: { total: all.length, covered: coveredIds.length, coveredIds },
    errors,
    ...(Object.keys(reliability).length === 0 ? {} : { reliability }),
    ...(options.shard === undefined ? {} : { shard: options.shard }),
    ...(options.grep === undefined ? {} : { grep: options.grep }),
  };
}

/** Code-unit order, so that sharding and reports do not depend on the machine's locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class MergeError extends Error {
  override readonly name = 'MergeError';
}

/**
 * Merges shard results into the results of one full run. Refuses duplicated
 * scenarios, missing shards and shards of different suites.
 */
export function mergeResults(parts: readonly Results[]): Results {
  if (parts.length === 0) throw new MergeError('expected at least one results.json to merge, found none');
  const first = parts[0]!;
  const byId = new Map<string, ScenarioResult>();
  for (const part of parts) {
    for (const s of part.scenarios) {
      if (byId.has(s.id)) throw new MergeError(`scenario ${s.id} appears in more than one shard`);
      byId.set(s.id, s);
    }
  }
  const shards = parts.map((p) => p.shard).filter((s): s is ShardInfo => s !== undefined);
  if (shards.length > 0) {
    const count = shards[0]!.count;
    const suite = shards[0]!.suiteScenarios;
    if (shards.length !== parts.length || shards.some((s) => s.count !== count || s.suiteScenarios !== suite)) {
      throw new MergeError('expected shards of one run (same --shard n and scenario set), found a mix');
    }
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !shards.some((s) => s.index === i));
    if (missing.length > 0) throw new MergeError(`expected all ${count} shards, found shard(s) ${missing.join(', ')} missing`);
    if (byId.size !== suite) throw new MergeError(`expected ${suite} scenarios across the shards, found ${byId.size}`);
  }
  const transitionIds = [...new Set(parts.flatMap((p) => p.transitions.coveredIds))];
  const total = Math.max(...parts.map((p) => p.transitions.total));
  const merged = buildResults([...byId.values()], {
    rules: first.rules.map(({ id, title, kind, quote }) => ({ id, title, kind, quote })),
    // Totals come from the catalogue; the covered ids are all each shard saw.
    transitions: transitionIds,
    durationMs: Math.max(...parts.map((p) => p.summary.durationMs)),
    errors: [...new Set(parts.flatMap((p) => p.errors))],
  });
  const scans = parts.flatMap((p) => (p.secretScan === undefined ? [] : [p.secretScan]));
  const secretScan =
    scans.length === 0
      ? undefined
      : {
          keys: scans.reduce((n, x) => n + x.keys, 0),
          places: scans.reduce((n, x) => n + x.places, 0),
          bytes: scans.reduce((n, x) => n + x.bytes, 0),
          findings: scans.flatMap((x) => x.findings),
        };
  return {
    ...merged,
    transitions: { total, covered: transitionIds.length, coveredIds: transitionIds.sort(compare) },
    ...(secretScan === undefined ? {} : { secretScan }),
  };
}

/** Reads a results.json produced by this version; a located message when it is not one. */
export function parseResults(text: string, source: string): Results {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new MergeError(`${source}: expected JSON, found text that does not parse`);
  }
  const r = data as Partial<Results> | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    r.version !== 1 ||
    !Array.isArray(r.scenarios) ||
    !Array.isArray(r.rules) ||
    r.summary === undefined ||
    r.transitions === undefined
  ) {
    throw new MergeError(`${source}: expected an ekm results.json (version 1), found something else`);
  }
  return { ...(r as Results), errors: Array.isArray(r.errors) ? r.errors : [] };
}
