/** The three files a run leaves in `--out`: results.json, junit.xml and index.html. */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KmsCall, Results, ScenarioResult } from './results.ts';
import { verdictOf } from './verdict.ts';
export { classname, failureMessage, junitXml } from './junit.ts';
import { junitXml } from './junit.ts';

export const RESULTS_FILE = 'results.json';
export const JUNIT_FILE = 'junit.xml';
export const HTML_FILE = 'index.html';
export const AUDIT_FILE = 'kms-audit.jsonl';
export const SUMS_FILE = 'SHA256SUMS';

export async function writeReports(results: Results, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const files: [string, string][] = [
    [RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`],
    [JUNIT_FILE, junitXml(results)],
    [HTML_FILE, htmlReport(results)],
  ];
  for (const [name, text] of files) await writeFile(join(outDir, name), text);
  // The bundle's checksums, in the format `sha256sum -c` reads: what `ekm verify` checks first.
  const sums: string[] = [];
  for (const name of [...files.map(([n]) => n), AUDIT_FILE]) {
    const body = await readFile(join(outDir, name)).catch(() => undefined);
    if (body !== undefined) sums.push(`${createHash('sha256').update(body).digest('hex')}  ${name}`);
  }
  await writeFile(join(outDir, SUMS_FILE), `${sums.join('\n')}\n`);
  return [...files.map(([name]) => join(outDir, name)), join(outDir, SUMS_FILE)];
}

const html = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const anchor = (id: string): string => `s-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function callText(c: KmsCall): string {
  const ctx = c.encryptionContext === undefined ? '' : ` ${Object.entries(c.encryptionContext).map(([k, v]) => `${k}=${v}`).join(', ')}`;
  return `${c.operation} from ${c.from}${c.key !== undefined ? ` on ${c.key}` : ''}${ctx} → ${c.result}`;
}

function provider(results: Results): string {
  const p = results.provider;
  if (p === undefined) return '';
  return `<p class="provider">Provider under test: <b>${html(p.name)} ${html(p.version)}</b> (${html(p.protocol)}, ${p.binding}${p.location !== undefined ? ` at <code>${html(p.location)}</code>` : ''}); declared capabilities: ${p.capabilities.length === 0 ? 'none' : p.capabilities.map((c) => `<code>${html(c)}</code>`).join(', ')}.</p>`;
}

/** A self-contained page: no scripts or styles from elsewhere, readable from a CI artefact. */
export function htmlReport(results: Results): string {
  const s = results.summary;
  const scen = results.scenarios;
  const verdict = verdictOf(results).status;
  const head = scen.map((x, i) => `<th class="col" title="${html(`${x.id}: ${x.title}`)}"><a href="#${anchor(x.id)}">${i + 1}</a></th>`).join('');
  const rows = results.rules
    .map((r) => {
      const cells = scen
        .map((x) => {
          if (!x.rules.includes(r.id)) return '<td></td>';
          if (x.status === 'not-applicable') return `<td class="na" title="${html(x.id)} not applicable: ${html(x.reason ?? '')}">n/a</td>`;
          if (x.status === 'skipped') return `<td class="na" title="${html(x.id)} skipped">–</td>`;
          return x.status === 'passed'
            ? `<td class="pass" title="${html(x.id)} passed">✓</td>`
            : `<td class="fail" title="${html(x.id)} failed">✗</td>`;
        })
        .join('');
      return `<tr class="${r.status}"><th class="rule"><b>${html(r.id)}</b> <span class="st">${r.status}</span><div>${html(r.title)}</div><q>${html(r.quote)}</q></th>${cells}</tr>`;
    })
    .join('\n');
  const timelines = scen
    .map((x, i) => {
      const steps = x.steps
        .map(
          (st, j) =>
            `<li class="${st.status}"><span class="st">${st.status}</span> ${j + 1}. ${html(st.title)}${st.durationMs !== undefined ? ` <small>${st.durationMs} ms</small>` : ''}${
              st.error !== undefined ? `<div class="err">${html(st.error)}</div>` : ''
            }${st.kmsCalls.length > 0 ? `<ul class="kms">${st.kmsCalls.map((c) => `<li>${html(callText(c))}</li>`).join('')}</ul>` : ''}</li>`,
        )
        .join('\n');
      return `<details id="${anchor(x.id)}" class="${x.status}"${x.status === 'failed' ? ' open' : ''}><summary>${i + 1}. <b>${html(x.id)}</b> ${html(x.title)} <span class="st">${x.status}</span> <small>${html(x.file)} · ${x.durationMs} ms · ${html(x.rules.join(', '))}</small></summary>${x.reason !== undefined ? `<p class="reason">not applicable: ${html(x.reason)}</p>` : ''}<ol>${steps}</ol></details>`;
    })
    .join('\n');
  const errors =
    results.errors.length === 0 ? '' : `<h2>Invalid scenario files</h2><ul class="errors">${results.errors.map((e) => `<li><code>${html(e)}</code></li>`).join('')}</ul>`;
  const tallies = Object.entries(results.reliability ?? {});
  const reliability =
    tallies.length === 0
      ? ''
      : `<h2>Workflows under faults</h2><table class="matrix"><thead><tr><th>fault</th><th>attempted</th><th>succeeded</th><th>failed cleanly</th><th>failed otherwise</th><th>lost</th></tr></thead><tbody>${tallies
          .map(([f, t]) => `<tr><th class="rule">${html(f)}</th><td>${t.attempted}</td><td>${t.succeeded}</td><td>${t.failedCleanly}</td><td>${t.failedBadly}</td><td class="${t.lost === 0 ? 'pass' : 'fail'}">${t.lost}</td></tr>`)
          .join('')}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>EKM conformance</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table.matrix{border-collapse:collapse}
.matrix td,.matrix th{border:1px solid #ddd;padding:2px 4px;text-align:center;vertical-align:top}
.matrix th.rule{text-align:left;max-width:36em;font-weight:normal}
.matrix q{color:#555;font-style:italic;display:block}
td.pass{background:#dfd}td.fail{background:#fdd}td.na{background:#eee;color:#666}
tr.uncovered th.rule{background:#ffe9b3}tr.failed th.rule{background:#fdd}
.st{font-size:11px;text-transform:uppercase;color:#666}
li.failed,li.error,details.failed>summary{color:#a00}
.err{white-space:pre-wrap;font-family:monospace}
ul.kms{font-family:monospace;font-size:12px;color:#345}
</style></head><body>
<h1>EKM conformance: ${verdict}</h1>
${provider(results)}
<p>${s.scenarios} scenarios, ${s.passed} passed, ${s.failed} failed${(s.notApplicable ?? 0) > 0 ? `, ${s.notApplicable} not applicable` : ''}, ${results.errors.length} file error(s), ${s.durationMs} ms.
Rules: ${results.rules.filter((r) => r.status === 'passed').length}/${results.rules.length} passed.
Transitions covered: ${results.transitions.covered}/${results.transitions.total}.${results.shard !== undefined ? ` Shard ${results.shard.index}/${results.shard.count}.` : ''}${results.grep !== undefined ? ` Filtered by ${html(results.grep)}.` : ''}</p>
${errors}
<h2>Traceability: rule × scenario</h2>
<table class="matrix"><thead><tr><th>rule and the article's words</th>${head}</tr></thead><tbody>
${rows}
</tbody></table>
${reliability}
<h2>Scenarios</h2>
${timelines}
</body></html>
`;
}
