/** The top of the page: the verdict, and every reason the run is not green, each linking to where it happened. */
import { clip, esc, ruleAnchor, scenarioAnchor, stepAnchor } from './escape.ts';
import type { View, ViewVerdict } from './view.ts';
import { failingStep, notRunReason } from './view.ts';

const ERROR_CHARS = 400;

export function verdictSection(r: View, v: ViewVerdict & { recorded: boolean }): string {
  const s = r.summary;
  const counts = [
    `${s.scenarios} scenarios`,
    `${s.passed} passed`,
    `${s.failed} failed`,
    ...((s.interrupted ?? 0) > 0 ? [`${s.interrupted} interrupted`] : []),
    ...((s.notApplicable ?? 0) > 0 ? [`${s.notApplicable} not applicable`] : []),
    ...((s.skipped ?? 0) > 0 ? [`${s.skipped} skipped`] : []),
  ].join(', ');
  const rulesPassed = r.rules.filter((x) => x.status === 'passed').length;
  const scope =
    v.scope === 'full'
      ? 'full run: every rule must be covered'
      : `partial run (${[r.shard ? `shard ${r.shard.index}/${r.shard.count}` : '', r.grep !== undefined ? `filtered by ${esc(r.grep)}` : '', r.selection?.full === false ? 'selected files' : ''].filter(Boolean).join(', ') || 'a subset'}): gated on what it ran`;
  // Many reasons would push the failures off the first screen: beyond a few, they fold.
  const reasons =
    v.reasons.length === 0
      ? ''
      : `<details class="reasons"${v.reasons.length <= 4 ? ' open' : ''}><summary>${v.reasons.length} reason(s) from the gate</summary><ul>${v.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul></details>`;
  const signal = r.interrupted !== undefined ? `<p>Stopped by ${esc(r.interrupted.signal)} before every scenario had run.</p>` : '';
  return `<header id="verdict" class="verdict ${v.status}">
<h1>EKM conformance: <span class="status">${v.status}</span></h1>
<p class="scope">${scope}${v.recorded ? '' : ' · verdict computed by the report (the results carry none)'}</p>
${signal}${reasons}<p class="counts">${counts} · rules ${rulesPassed}/${r.rules.length} passed · ${r.transitions.covered}/${r.transitions.total} transitions · ${(s.durationMs / 1000).toFixed(1)} s</p>
</header>`;
}

/** Gate reasons the structured items below already show, each with its links. */
const SHOWN = [/^scenario /, /^invalid scenario file/, /^secret scan/, /^rule /, /workflow result\(s\) lost/];

export function failuresSection(r: View, v: ViewVerdict & { recorded: boolean }): string {
  const items: string[] = [];
  for (const s of r.scenarios) {
    const at = `<a href="#${scenarioAnchor(s.id)}"><b>${esc(s.id)}</b></a> ${esc(s.title)}`;
    const rules = s.rules.length === 0 ? '' : ` <small>breaks ${s.rules.map((x) => esc(x)).join(', ')}</small>`;
    if (s.status === 'failed') {
      const f = failingStep(s);
      if (f === undefined) {
        items.push(`<li class="f-scenario">${at} failed${rules}</li>`);
        continue;
      }
      const verb = f.step.status === 'error' ? 'errored' : f.step.status === 'skipped' ? 'was not run' : 'failed';
      const line = f.step.line !== undefined ? ` <small>${esc(s.file)}:${f.step.line}</small>` : '';
      items.push(
        `<li class="f-scenario">${at}: <a href="#${stepAnchor(s.id, f.n)}">step ${f.n} “${esc(f.step.title)}”</a>${line} ${verb}${rules}${
          f.step.error !== undefined ? `<div class="err">${esc(clip(f.step.error, ERROR_CHARS))}</div>` : ''
        }</li>`,
      );
    } else if (s.status === 'interrupted') {
      items.push(`<li class="f-interrupted">${at} was interrupted: ${esc(notRunReason(s))}</li>`);
    }
  }
  const uncovered = r.rules.filter((x) => x.status === 'uncovered');
  // A partial run is gated on what it ran, unless it asked to cover every rule (then its scope is full).
  const blocks = v.scope === 'full';
  if (blocks) {
    for (const rule of uncovered) {
      items.push(
        `<li class="f-rule"><a href="#${ruleAnchor(rule.id)}"><b>${esc(rule.id)}</b></a> ${esc(clip(rule.title, 160))} — no scenario that ran covers it${namingNotRun(r, rule.scenarios)}</li>`,
      );
    }
  }
  for (const finding of r.secretScan?.findings ?? []) {
    items.push(
      `<li class="f-secret"><a href="#secret-scan">plaintext ${esc(finding.kind)} key</a> found in <code>${esc(finding.where)}</code> (${esc(finding.encoding)})</li>`,
    );
  }
  for (const [fault, t] of Object.entries(r.reliability ?? {})) {
    if (t.lost === 0) continue;
    const where = r.scenarios.filter((s) => (s.reliability?.[fault]?.lost ?? 0) > 0).map((s) => `<a href="#${scenarioAnchor(s.id)}">${esc(s.id)}</a>`);
    items.push(
      `<li class="f-lost"><a href="#faults">${t.lost} workflow(s) lost</a> under ${esc(fault)}${where.length > 0 ? `: ${where.join(', ')}` : ''}</li>`,
    );
  }
  for (const reason of v.reasons) if (!SHOWN.some((x) => x.test(reason))) items.push(`<li class="f-gate">${esc(reason)}</li>`);
  for (const e of r.errors) items.push(`<li class="f-file"><a href="#invalid-files">invalid scenario file</a> <code>${esc(e)}</code></li>`);
  const info =
    !blocks && uncovered.length > 0
      ? `<p class="info">Not covered by this partial run (not gated): ${uncovered.map((x) => `<a href="#${ruleAnchor(x.id)}">${esc(x.id)}</a>`).join(', ')}.</p>`
      : '';
  const body = items.length === 0 ? '<p class="none">No failures.</p>' : `<ol class="failures">${items.join('\n')}</ol>`;
  return `<section id="failures"><h2>Failures (${items.length})</h2>${body}${info}</section>`;
}

function namingNotRun(r: View, ids: readonly string[]): string {
  if (ids.length === 0) return ' (no scenario names it)';
  const byId = new Map(r.scenarios.map((s) => [s.id, s]));
  const links = ids.map((id) => {
    const s = byId.get(id);
    // A scenario outside this run's selection has no section to link to.
    return s === undefined ? `${esc(id)} not in this run` : `<a href="#${scenarioAnchor(id)}">${esc(id)}</a> ${esc(s.status)}`;
  });
  return ` (named by ${links.join(', ')})`;
}
