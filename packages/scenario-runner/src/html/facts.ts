/** The run's circumstances: secret scan, faults, invalid files, the provider under test and provenance. */
import { esc } from './escape.ts';
import type { View } from './view.ts';

export function secretScanSection(r: View): string {
  const scan = r.secretScan;
  if (scan === undefined) return '<section id="secret-scan"><h2>Secret scan</h2><p>Not run: the results carry no secret scan.</p></section>';
  const findings =
    scan.findings.length === 0
      ? '<p class="ok">No plaintext key found.</p>'
      : `<table class="grid"><thead><tr><th>where</th><th>key kind</th><th>encoding</th></tr></thead><tbody>${scan.findings
          .map((f) => `<tr class="failed"><td><code>${esc(f.where)}</code></td><td>${esc(f.kind)}</td><td>${esc(f.encoding)}</td></tr>`)
          .join('')}</tbody></table>`;
  return `<section id="secret-scan"><h2>Secret scan</h2><p>${scan.keys} plaintext keys searched for (raw, hex, base64) in ${scan.places} places, ${scan.bytes} bytes.</p>${findings}</section>`;
}

export function faultsSection(r: View): string {
  const tallies = Object.entries(r.reliability ?? {});
  if (tallies.length === 0) return '<section id="faults"><h2>Workflows under faults</h2><p>No workflow ran under a fault.</p></section>';
  const rows = tallies
    .map(
      ([f, t]) =>
        `<tr><th>${esc(f)}</th><td>${t.attempted}</td><td>${t.succeeded}</td><td>${t.failedCleanly}</td><td class="${t.failedBadly === 0 ? '' : 'failed'}">${t.failedBadly}</td><td class="${t.lost === 0 ? 'passed' : 'failed'}">${t.lost}</td></tr>`,
    )
    .join('');
  return `<section id="faults"><h2>Workflows under faults</h2><p>A workflow under a fault may fail, but only cleanly: nothing committed, nothing lost.</p><table class="grid"><thead><tr><th>fault</th><th>attempted</th><th>succeeded</th><th>failed cleanly</th><th>failed otherwise</th><th>lost</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

export function invalidFilesSection(r: View): string {
  if (r.errors.length === 0) return '';
  return `<section id="invalid-files"><h2>Invalid scenario files (${r.errors.length})</h2><ul>${r.errors.map((e) => `<li><code>${esc(e)}</code></li>`).join('')}</ul></section>`;
}

const row = (name: string, value: string): string => `<tr><th>${name}</th><td>${value}</td></tr>`;
const code = (s: string): string => `<code>${esc(s)}</code>`;

export function runSection(r: View): string {
  const rows: string[] = [];
  const p = r.provider;
  if (p !== undefined) {
    rows.push(
      row(
        'provider under test',
        `<b>${esc(p.name)} ${esc(p.version)}</b> (${esc(p.protocol)}, ${esc(p.binding)}${p.location !== undefined ? ` at ${code(p.location)}` : ''})`,
      ),
    );
    rows.push(row('declared capabilities', p.capabilities.length === 0 ? 'none' : p.capabilities.map(code).join(', ')));
  } else {
    rows.push(row('provider under test', 'not recorded'));
  }
  const v = r.provenance;
  if (v !== undefined) {
    rows.push(row('started', esc(v.startedAt)));
    rows.push(
      row('harness', `${esc(v.harness.name)} ${esc(v.harness.version)}${v.harness.commit !== undefined ? ` at commit ${code(v.harness.commit)}` : ''}`),
    );
    rows.push(row('scenario files', `${v.scenarioFiles !== undefined ? `${v.scenarioFiles.length} files, ` : ''}SHA-256 ${code(v.scenarioFilesSha256)}`));
    rows.push(row('Node.js, platform', `${esc(v.node)}, ${esc(v.platform)}`));
    if (v.localstack !== undefined) {
      rows.push(
        row(
          'LocalStack',
          `${esc(v.localstack.mode)}${v.localstack.version !== undefined ? ` ${esc(v.localstack.version)}` : ''} at ${code(v.localstack.endpoint)}`,
        ),
      );
    }
    const seeds = Object.entries(v.seeds ?? {});
    if (seeds.length > 0) rows.push(row('seeds', seeds.map(([k, n]) => `${esc(k)}=${n}`).join(', ')));
  } else {
    rows.push(row('provenance', 'not recorded'));
  }
  if (r.selection !== undefined) {
    rows.push(
      row(
        'selection',
        `${r.selection.full ? 'the whole suite' : r.selection.paths.map(code).join(', ')}${r.selection.requireAllRules ? ', every rule required' : ''}`,
      ),
    );
  }
  if (r.shard !== undefined) rows.push(row('shard', `${r.shard.index} of ${r.shard.count} (${r.shard.suiteScenarios} scenarios in the suite)`));
  if (r.grep !== undefined) rows.push(row('filter', code(r.grep)));
  return `<section id="run"><h2>Provider and provenance</h2><table class="facts"><tbody>${rows.join('')}</tbody></table></section>`;
}
