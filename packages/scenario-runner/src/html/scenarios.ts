/** Scenarios that did not run, with why, and every scenario's timeline of steps. */
import { esc, scenarioAnchor, stepAnchor, token } from './escape.ts';
import type { KmsCall, View, ViewScenario } from './view.ts';
import { notRunReason } from './view.ts';

function callText(c: KmsCall): string {
  const ctx =
    c.encryptionContext === undefined
      ? ''
      : ` ${Object.entries(c.encryptionContext)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`;
  return `${c.operation} from ${c.from}${c.key !== undefined ? ` on ${c.key}` : ''}${ctx} → ${c.result}`;
}

/** The data the filter script reads: status, and rules and tags as space-separated tokens. */
function filterData(s: ViewScenario): string {
  return `data-status="${esc(s.status)}" data-rules="${esc(s.rules.map(token).join(' '))}" data-tags="${esc((s.tags ?? []).map(token).join(' '))}"`;
}

export function notRunSection(r: View): string {
  const list = r.scenarios.filter((s) => s.status === 'not-applicable' || s.status === 'skipped');
  if (list.length === 0) return '';
  const rows = list
    .map(
      (s) =>
        `<tr data-s="${scenarioAnchor(s.id)}"><td><a href="#${scenarioAnchor(s.id)}"><b>${esc(s.id)}</b></a> ${esc(s.title)}</td><td class="${esc(s.status)}">${esc(s.status)}</td><td>${esc(notRunReason(s))}</td><td>${s.rules.map((x) => esc(x)).join(', ')}</td></tr>`,
    )
    .join('\n');
  return `<section id="not-run"><h2>Not run here (${list.length})</h2><p>Neither passed nor failed: a rule counts as passed only through scenarios that ran.</p>
<table class="grid"><thead><tr><th>scenario</th><th>status</th><th>why</th><th>rules</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
}

function stepItem(s: ViewScenario, n: number): string {
  const st = s.steps[n - 1]!;
  const meta = [st.line !== undefined ? `${s.file}:${st.line}` : '', st.durationMs !== undefined ? `${st.durationMs} ms` : ''].filter(Boolean).join(' · ');
  const calls = st.kmsCalls.length === 0 ? '' : `<ul class="kms">${st.kmsCalls.map((c) => `<li>${esc(callText(c))}</li>`).join('')}</ul>`;
  return `<li id="${stepAnchor(s.id, n)}" class="${esc(st.status)}"><span class="st">${esc(st.status)}</span> ${n}. ${esc(st.title)}${meta !== '' ? ` <small>${esc(meta)}</small>` : ''}${
    st.error !== undefined ? `<div class="err">${esc(st.error)}</div>` : ''
  }${calls}</li>`;
}

export function scenariosSection(r: View): string {
  const items = r.scenarios
    .map((s) => {
      const tags = (s.tags ?? []).length === 0 ? '' : ` · tags ${s.tags!.map((t) => `<span class="tag">${esc(t)}</span>`).join(' ')}`;
      const why =
        s.status === 'not-applicable' || s.status === 'skipped' || s.status === 'interrupted'
          ? `<p class="reason">${esc(s.status.replace('-', ' '))}: ${esc(notRunReason(s))}</p>`
          : '';
      const faults = Object.entries(s.reliability ?? {})
        .map(
          ([f, t]) =>
            `${esc(f)}: ${t.attempted} attempted, ${t.succeeded} succeeded, ${t.failedCleanly} failed cleanly, ${t.failedBadly} failed otherwise, ${t.lost} lost`,
        )
        .join('; ');
      const steps = s.steps.map((_, i) => stepItem(s, i + 1)).join('\n');
      const open = s.status === 'failed' || s.status === 'interrupted' ? ' open' : '';
      return `<details id="${scenarioAnchor(s.id)}" class="scn ${esc(s.status)}" ${filterData(s)}${open}><summary><span class="st">${esc(s.status)}</span> <b>${esc(s.id)}</b> ${esc(s.title)} <small>${esc(s.file)} · ${s.durationMs} ms · ${s.rules.map((x) => esc(x)).join(', ')}${tags}</small></summary>${why}${
        faults !== '' ? `<p class="faults">under faults: ${faults}</p>` : ''
      }<ol>${steps}</ol></details>`;
    })
    .join('\n');
  return `<section id="scenarios"><h2>Scenarios (${r.scenarios.length})</h2>
${items}
</section>`;
}
