/**
 * The conformance gate, and the one verdict every report of a run shows: the exit code, the
 * closing line, results.json, junit.xml and index.html all read `results.verdict`.
 */
import { failedStep, type Results, type Verdict } from './results.ts';

export interface GateVerdict {
  readonly ok: boolean;
  readonly reasons: readonly string[];
}

/** A subset run (a shard, --grep, or named paths) is gated on what it ran, not on covering every rule, unless it asks to be. */
export function scopeOf(results: Results): Verdict['scope'] {
  if (results.selection?.requireAllRules === true) return 'full';
  if (results.shard !== undefined || results.grep !== undefined) return 'partial';
  return results.selection?.full === false ? 'partial' : 'full';
}

/** Why the run fails the gate; none when it passes. */
export function gate(results: Results): GateVerdict {
  const reasons: string[] = [];
  if (results.interrupted !== undefined)
    reasons.push(`the run was interrupted (${results.interrupted.signal}): ${results.summary.interrupted ?? 0} scenario(s) interrupted or not run`);
  for (const e of results.errors) reasons.push(`invalid scenario file: ${e}`);
  if (results.scenarios.length === 0 && results.errors.length === 0) {
    const how = [
      results.selection?.paths.join(', '),
      results.grep === undefined ? undefined : `--grep ${results.grep}`,
      results.shard === undefined ? undefined : `--shard ${results.shard.index}/${results.shard.count}`,
    ]
      .filter(Boolean)
      .join(' ');
    reasons.push(`no scenario was selected${how === '' ? '' : ` (${how})`}: a run that tests nothing proves nothing`);
  }
  for (const s of results.scenarios) {
    if (s.status === 'failed') {
      const f = failedStep(s);
      const at = f !== undefined ? ` at step ${f.index + 1} "${f.step.title}"` : '';
      reasons.push(`scenario ${s.id} failed${at}`);
    }
  }
  for (const f of results.secretScan?.findings ?? []) reasons.push(`secret scan: a ${f.kind} was found (${f.encoding}) in ${f.where}`);
  for (const [fault, t] of Object.entries(results.reliability ?? {})) {
    if (t.lost > 0) reasons.push(`${t.lost} workflow result(s) lost under ${fault}`);
  }
  const full = scopeOf(results) === 'full';
  if (full && results.rules.length === 0) reasons.push('the rule catalogue is empty: nothing to gate on');
  for (const r of results.rules) {
    if (r.status === 'failed') reasons.push(`rule ${r.id} has a failing scenario`);
    else if (r.status === 'uncovered' && full) {
      const na = results.scenarios.filter((x) => x.status === 'not-applicable' && x.rules.includes(r.id)).length;
      reasons.push(na > 0 ? `rule ${r.id} has no applicable scenario (${na} not applicable to the provider under test)` : `rule ${r.id} has no scenario`);
    }
  }
  return { ok: reasons.length === 0, reasons };
}

/** The results with their verdict: computed once, then only read. */
export function withVerdict(results: Results): Results {
  const g = gate(results);
  const status: Verdict['status'] = results.interrupted !== undefined ? 'interrupted' : g.ok ? 'passed' : 'failed';
  return { ...results, verdict: { ok: g.ok, status, scope: scopeOf(results), reasons: [...g.reasons] } };
}

/** The verdict a report shows: the one recorded, or (for results written before verdicts) recomputed. */
export function verdictOf(results: Results): Verdict {
  return results.verdict ?? withVerdict(results).verdict!;
}

/** Exit code of a run: 0 passed, 1 failed, 130 / 143 interrupted by SIGINT / SIGTERM. */
export function exitCode(results: Results): number {
  const v = verdictOf(results);
  if (v.status === 'interrupted') return results.interrupted?.signal === 'SIGTERM' ? 143 : 130;
  return v.ok ? 0 : 1;
}

/** The last line of a run, alone, in the plain form CI systems read as a test count. */
export function closingLine(results: Results): string {
  const s = results.summary;
  const v = verdictOf(results);
  const skips = (s.skipped ?? 0) + (s.notApplicable ?? 0) + (s.interrupted ?? 0);
  // Gate failures that are no scenario's (uncovered rules, secret scan, lost results) count as failed tests too, as in junit.xml.
  const gateOnly = gateCases(results).length;
  return `conformance: ${s.passed} passed, ${s.failed + s.invalidFiles + gateOnly} failed${skips > 0 ? `, ${skips} skipped` : ''}${v.status === 'interrupted' ? ' (interrupted)' : ''}`;
}

/** The gate's reasons that no scenario testcase carries: each becomes a failing testcase of its own. */
export function gateCases(results: Results): { name: string; message: string }[] {
  const v = verdictOf(results);
  return v.reasons
    .filter(
      (r) =>
        !r.startsWith('scenario ') &&
        !r.startsWith('invalid scenario file') &&
        !r.startsWith('the run was interrupted') &&
        !/^rule \S+ has a failing scenario$/.test(r),
    )
    .map((r) => ({ name: r.startsWith('rule ') ? r.split(' ').slice(0, 2).join(' ') : r.split(':')[0]!, message: r }));
}
