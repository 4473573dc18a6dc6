/**
 * junit.xml: one testsuite per scenario file, one testcase per scenario, the invalid files and
 * the gate's own failures (uncovered rules, secret-scan findings, lost workflows) as failing
 * testcases, so the failure count here is the closing line's. Testcases carry `file` and
 * `line` for GitHub and GitLab annotations; classnames are dotted paths without the file
 * extension, so the last-dot convention (Jenkins) splits them into folder and file.
 */
import type { Results, ScenarioResult } from './results.ts';
import { failedStep } from './results.ts';
import { gateCases, verdictOf } from './verdict.ts';

export const xml = (s: string): string =>
  s
    // XML 1.0 cannot carry most control characters even escaped; an executor's error text may hold them.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** `scenarios/revocation/disable.yaml` → `scenarios.revocation.disable`. */
export function classname(file: string): string {
  return file
    .replace(/\.ya?ml$/i, '')
    .replace(/^\.\/+/, '')
    .replace(/[\\/]+/g, '.')
    .replace(/\.{2,}/g, '.');
}

/** Where a scenario failed, in one line: the step number, its title and what went wrong. */
export function failureMessage(s: ScenarioResult): string {
  const f = failedStep(s);
  if (f === undefined) return 'the scenario failed';
  const { index, step } = f;
  const at = step.line !== undefined ? ` (${s.file}:${step.line})` : '';
  const verb = step.status === 'error' ? 'errored' : step.status === 'skipped' ? 'was not run' : 'failed';
  return `step ${index + 1} "${step.title}"${at} ${verb}: ${step.error ?? 'no detail'}`;
}

function testcase(s: ScenarioResult, timestamp: string): string {
  const f = failedStep(s);
  const line = (s.status === 'failed' ? f?.step.line : undefined) ?? s.line ?? s.steps[0]?.line;
  const head = `    <testcase classname="${xml(classname(s.file))}" name="${xml(`${s.id}: ${s.title}`)}" file="${xml(s.file)}"${line === undefined ? '' : ` line="${line}"`} time="${seconds(s.durationMs)}" timestamp="${timestamp}">`;
  const props = `      <properties><property name="rules" value="${xml(s.rules.join(' '))}"/><property name="status" value="${s.status}"/></properties>`;
  switch (s.status) {
    case 'passed':
      return `${head}\n${props}\n    </testcase>`;
    case 'not-applicable':
      return `${head}\n${props}\n      <skipped message="${xml(`not applicable: ${s.reason ?? ''}`)}"/>\n    </testcase>`;
    case 'interrupted':
      return `${head}\n${props}\n      <skipped message="${xml(`interrupted: ${s.reason ?? ''}`)}"/>\n    </testcase>`;
    case 'skipped': {
      const why = s.steps.find((x) => x.status === 'skipped')?.error ?? 'not applicable here';
      return `${head}\n${props}\n      <skipped message="${xml(why)}"/>\n    </testcase>`;
    }
    default: {
      const detail = s.steps.map((x, i) => `${i + 1}. [${x.status}] ${x.title}${x.error !== undefined ? `: ${x.error}` : ''}`).join('\n');
      return `${head}\n${props}\n      <failure message="${xml(failureMessage(s))}" type="ScenarioFailed">${xml(detail)}</failure>\n    </testcase>`;
    }
  }
}

function properties(results: Results): string {
  const v = verdictOf(results);
  const p = results.provenance;
  const pairs: [string, string | undefined][] = [
    ['verdict', v.status],
    ['scope', v.scope],
    ['provider', results.provider === undefined ? undefined : `${results.provider.name} ${results.provider.version} (${results.provider.binding})`],
    ['provider.capabilities', results.provider?.capabilities.join(' ')],
    ['startedAt', p?.startedAt],
    ['harness', p === undefined ? undefined : `${p.harness.name} ${p.harness.version}`],
    ['harness.commit', p?.harness.commit],
    ['scenarioFiles.sha256', p?.scenarioFilesSha256],
    ['node', p?.node],
    [
      'localstack',
      p?.localstack === undefined ? undefined : `${p.localstack.mode} ${p.localstack.version ?? ''} ${p.localstack.endpoint}`.replace(/\s+/g, ' '),
    ],
  ];
  const shown = pairs.filter((x): x is [string, string] => x[1] !== undefined && x[1] !== '');
  return `  <properties>\n${shown.map(([k, val]) => `    <property name="${xml(k)}" value="${xml(val)}"/>`).join('\n')}\n  </properties>`;
}

export function junitXml(results: Results): string {
  const timestamp = (results.provenance?.startedAt ?? new Date(0).toISOString()).replace(/\.\d+Z$/, 'Z').replace(/Z$/, '');
  const byFile = new Map<string, ScenarioResult[]>();
  for (const s of results.scenarios) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
  const invalid = new Map<string, string[]>();
  for (const e of results.errors) {
    const file = e.split(':')[0] ?? e;
    invalid.set(file, [...(invalid.get(file) ?? []), e]);
  }
  const suites: string[] = [];
  for (const [file, list] of byFile) {
    const failures = list.filter((s) => s.status === 'failed').length;
    const skips = list.filter((s) => s.status !== 'passed' && s.status !== 'failed').length;
    const time = list.reduce((t, s) => t + s.durationMs, 0);
    suites.push(
      `  <testsuite name="${xml(file)}" tests="${list.length}" failures="${failures}" errors="0" skipped="${skips}" time="${seconds(time)}" timestamp="${timestamp}">\n${list.map((s) => testcase(s, timestamp)).join('\n')}\n  </testsuite>`,
    );
  }
  for (const [file, errors] of invalid) {
    const m = /^[^:]+:(\d+):/.exec(errors[0] ?? '');
    suites.push(
      `  <testsuite name="${xml(file)}" tests="1" failures="1" errors="0" skipped="0" time="0" timestamp="${timestamp}">\n    <testcase classname="${xml(classname(file))}" name="the file is a valid scenario file" file="${xml(file)}"${m ? ` line="${m[1]}"` : ''} time="0">\n      <failure message="${xml(errors[0] ?? '')}" type="InvalidScenarioFile">${xml(errors.join('\n'))}</failure>\n    </testcase>\n  </testsuite>`,
    );
  }
  const gated = gateCases(results);
  if (gated.length > 0) {
    suites.push(
      `  <testsuite name="conformance gate" tests="${gated.length}" failures="${gated.length}" errors="0" skipped="0" time="0" timestamp="${timestamp}">\n${gated
        .map(
          (g) =>
            `    <testcase classname="conformance.gate" name="${xml(g.name)}" time="0">\n      <failure message="${xml(g.message)}" type="GateFailed">${xml(g.message)}</failure>\n    </testcase>`,
        )
        .join('\n')}\n  </testsuite>`,
    );
  }
  const tests = results.scenarios.length + invalid.size + gated.length;
  const failures = results.summary.failed + invalid.size + gated.length;
  const skipped = results.scenarios.filter((s) => s.status !== 'passed' && s.status !== 'failed').length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="ekm conformance: ${verdictOf(results).status}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(results.summary.durationMs)}" timestamp="${timestamp}">\n${properties(results)}\n${suites.join('\n')}\n</testsuites>\n`;
}
