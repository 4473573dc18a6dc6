/**
 * index.html: the report for product people. One self-contained page (inline style and
 * script, nothing fetched), readable without script: the verdict and every failure first,
 * each linking to its scenario and step, then the rule × scenario matrix, what did not run
 * and why, the secret scan, the fault tallies, the provider and provenance, and each
 * scenario's steps.
 */
import type { Results } from '../results.ts';
import { clip, esc, token } from './escape.ts';
import { faultsSection, invalidFilesSection, runSection, secretScanSection } from './facts.ts';
import { failuresSection, verdictSection } from './failures.ts';
import { matrixSection } from './matrix.ts';
import { notRunSection, scenariosSection } from './scenarios.ts';
import { SCRIPT } from './script.ts';
import { STYLES } from './styles.ts';
import { verdictOf } from '../verdict.ts';
import type { View } from './view.ts';

const STATUSES = ['failed', 'interrupted', 'passed', 'not-applicable', 'skipped'];

function options(values: readonly string[]): string {
  return values.map((v) => `<option value="${esc(token(v))}">${esc(clip(v, 40))}</option>`).join('');
}

function filterForm(r: View): string {
  const present = new Set(r.scenarios.map((s) => s.status));
  const statuses = [...STATUSES.filter((s) => present.has(s)), ...[...present].filter((s) => !STATUSES.includes(s)).sort()];
  const tags = [...new Set(r.scenarios.flatMap((s) => s.tags ?? []))].sort();
  // Hidden until the script runs: without it, there is nothing to filter with.
  return `<form id="filter" hidden aria-label="filter the scenarios">
<label>rule <select name="rule"><option value="">all rules</option>${r.rules.map((x) => `<option value="${esc(token(x.id))}">${esc(x.id)} ${esc(clip(x.title, 60))}</option>`).join('')}</select></label>
<label>status <select name="status"><option value="">any status</option>${options(statuses)}</select></label>
<label>tag <select name="tag"${tags.length === 0 ? ' disabled' : ''}><option value="">${tags.length === 0 ? 'no tags' : 'any tag'}</option>${options(tags)}</select></label>
<button type="reset">show all</button> <output id="shown"></output>
</form>`;
}

function providerLine(r: View): string {
  const p = r.provider;
  if (p === undefined) return '';
  return `<p class="provider">Provider under test: <b>${esc(p.name)} ${esc(p.version)}</b> (${esc(p.binding)}${p.location !== undefined ? ` at <code>${esc(p.location)}</code>` : ''}) · <a href="#run">provenance</a></p>`;
}

export function htmlReport(results: Results): string {
  const r: View = results;
  // The recorded verdict; results.json files written before verdicts get the gate's, recomputed.
  const v = { ...verdictOf(results), recorded: results.verdict !== undefined };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>EKM conformance: ${v.status}</title>
<style>${STYLES}</style></head><body>
${verdictSection(r, v)}
${providerLine(r)}
${failuresSection(r, v)}
${filterForm(r)}
${matrixSection(r)}
${notRunSection(r)}
${invalidFilesSection(r)}
${secretScanSection(r)}
${faultsSection(r)}
${runSection(r)}
${scenariosSection(r)}
<script>${SCRIPT}</script>
</body></html>
`;
}
