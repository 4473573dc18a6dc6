/** The traceability matrix: one row per rule, one column per scenario, every mark a link to its scenario. */
import { clip, esc, ruleAnchor, scenarioAnchor, token } from './escape.ts';
import type { View } from './view.ts';

/** Mark and words per scenario status, so that the matrix does not rely on colour alone. */
const MARK: Readonly<Record<string, { mark: string; words: string }>> = {
  passed: { mark: '✓', words: 'passed' },
  failed: { mark: '✗', words: 'failed' },
  interrupted: { mark: '!', words: 'interrupted' },
  'not-applicable': { mark: 'n/a', words: 'not applicable' },
  skipped: { mark: '–', words: 'skipped' },
};
const markOf = (status: string): { mark: string; words: string } => MARK[status] ?? { mark: '?', words: status };

/** Rotated headers stay readable up to this many characters; the full id and title are in the tooltip and the scenario list. */
const HEADER_CHARS = 36;

export function matrixSection(r: View): string {
  const scen = r.scenarios;
  const names = scen.map((s) => new Set(s.rules));
  const head = scen
    .map((s) => {
      const full = `${s.id}: ${s.title} (${markOf(s.status).words})`;
      return `<th class="col ${esc(s.status)}" data-s="${scenarioAnchor(s.id)}" scope="col"><a href="#${scenarioAnchor(s.id)}" title="${esc(full)}" aria-label="${esc(full)}"><span>${esc(clip(s.id, HEADER_CHARS))}</span></a></th>`;
    })
    .join('');
  const rows = r.rules
    .map((rule) => {
      const cells = scen
        .map((s, i) => {
          if (!names[i]!.has(rule.id)) return '<td></td>';
          const { mark, words } = markOf(s.status);
          const why = s.status === 'not-applicable' && s.reason !== undefined ? `: ${s.reason}` : '';
          return `<td class="${esc(s.status)}"><a href="#${scenarioAnchor(s.id)}" title="${esc(`${rule.id} × ${s.id} ${words}${why}`)}">${mark}</a></td>`;
        })
        .join('');
      const kind = rule.kind === 'derived' ? 'derived' : rule.kind === 'documented' ? 'documented' : esc(rule.kind);
      return `<tr id="${ruleAnchor(rule.id)}" class="${esc(rule.status)} k-${kind}" data-rule="${token(rule.id)}"><th class="rule" scope="row"><b>${esc(rule.id)}</b> <span class="kind ${kind}">${kind}</span> <span class="st ${esc(rule.status)}">${esc(rule.status)}</span><div title="${esc(rule.title)}">${esc(rule.title)}</div><q>${esc(rule.quote)}</q>${rule.position === undefined ? '' : `<p class="position"><b>Position:</b> ${esc(rule.position)}</p>`}</th>${cells}</tr>`;
    })
    .join('\n');
  const legend = `<p class="legend"><span class="kind documented">documented</span> the help article says it · <span class="kind derived">derived</span> follows from what it says · marks: ${Object.values(
    MARK,
  )
    .map((m) => `${m.mark} ${m.words}`)
    .join(', ')}</p>`;
  return `<section id="matrix-section"><h2>Traceability: rule × scenario</h2>${legend}
<div class="mx"><table id="matrix" class="matrix"><thead><tr><th class="rule" scope="col">rule and the article's words</th>${head}</tr></thead><tbody>
${rows}
</tbody></table></div></section>`;
}
