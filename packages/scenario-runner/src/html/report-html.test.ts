import { RULES } from '@ekm/domain';
import { describe, expect, it } from 'vitest';
import { failingResults, HOSTILE, passingResults } from '../../test/browser/fixtures.ts';
import { htmlReport } from './report-html.ts';

const ids = (page: string): string[] => [...page.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]!);
const hrefs = (page: string): string[] => [...page.matchAll(/\shref="#([^"]*)"/g)].map((m) => m[1]!);
const heading = (page: string): string => /<h1>(.*?)<\/h1>/s.exec(page)![1]!.replace(/<[^>]+>/g, '');
const section = (page: string, id: string): string => {
  const start = page.indexOf(`<section id="${id}">`);
  expect(start, `section #${id}`).toBeGreaterThanOrEqual(0);
  return page.slice(start, page.indexOf('</section>', start));
};

describe('htmlReport', () => {
  const passing = htmlReport(passingResults());
  const failing = htmlReport(failingResults());

  it('escapes every string from the results: no markup of theirs, one script of ours', () => {
    for (const page of [passing, failing]) {
      expect(page.match(/<script/g)).toHaveLength(1);
      expect(page).not.toContain('<img');
      expect(page).not.toContain('__pwned=1</script>');
    }
    expect(failing).not.toContain(HOSTILE);
    expect(failing).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
  });

  it('fetches nothing: no external script, style sheet, image or link', () => {
    for (const page of [passing, failing]) {
      // Attribute values (escaped result text) may say anything; the markup around them may not.
      const markup = page.replace(/="[^"]*"/g, '=""');
      expect(markup).not.toMatch(/<link|<[a-z][^>]*\ssrc=|url\(|@import/i);
      expect(page).not.toMatch(/href="(?!#)/);
    }
  });

  it('heads the page with results.verdict, whatever the counts say', () => {
    expect(heading(passing)).toBe('EKM conformance: passed');
    expect(heading(failing)).toBe('EKM conformance: failed');
    const gated = {
      ...passingResults(),
      verdict: { ok: false, status: 'failed' as const, scope: 'full' as const, reasons: ['2 rules uncovered by the selection'] },
    };
    const page = htmlReport(gated);
    expect(heading(page)).toBe('EKM conformance: failed');
    expect(page).toContain(
      '<details class="reasons" open><summary>1 reason(s) from the gate</summary><ul><li>2 rules uncovered by the selection</li></ul></details>',
    );
    const stopped = {
      ...passingResults(),
      interrupted: { signal: 'SIGINT' },
      verdict: { ok: false, status: 'interrupted' as const, scope: 'full' as const, reasons: ['interrupted by SIGINT'] },
    };
    expect(heading(htmlReport(stopped))).toBe('EKM conformance: interrupted');
  });

  it("recomputes the gate's verdict only when the results carry none", () => {
    const { verdict: _ignored, ...bare } = failingResults();
    const page = htmlReport(bare);
    expect(heading(page)).toBe('EKM conformance: failed');
    expect(page).toContain('verdict computed by the report');
    const { verdict: _also, ...green } = passingResults();
    expect(heading(htmlReport(green))).toBe('EKM conformance: passed');
    expect(htmlReport(passingResults())).not.toContain('verdict computed by the report');
  });

  it("shows the gate's reasons, folded when there are many, and lists those no item shows as failures", () => {
    const v = failingResults().verdict!;
    expect(v.reasons.length).toBeGreaterThan(4);
    expect(failing).toMatch(/<details class="reasons"><summary>\d+ reason\(s\) from the gate<\/summary>/);
    const none = {
      ...passingResults(),
      verdict: {
        ok: false,
        status: 'failed' as const,
        scope: 'partial' as const,
        reasons: ['no scenario was selected (scenarios/x): a run that tests nothing proves nothing'],
      },
    };
    const f = section(htmlReport(none), 'failures');
    expect(f).toContain('<li class="f-gate">no scenario was selected (scenarios/x): a run that tests nothing proves nothing</li>');
  });

  it('puts the verdict and the failures before everything else', () => {
    const order = [
      'id="verdict"',
      'id="failures"',
      'id="filter"',
      'id="matrix-section"',
      'id="not-run"',
      'id="secret-scan"',
      'id="faults"',
      'id="run"',
      'id="scenarios"',
    ];
    const at = order.map((x) => failing.indexOf(x));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('lists each failure with a link to its scenario and its failing step, and the gate reasons', () => {
    const f = section(failing, 'failures');
    expect(f).toContain('href="#s-revoke-disable-scheduled-backup"');
    expect(f).toContain('href="#s-revoke-disable-scheduled-backup-step-2">step 2 “the next scheduled backup”</a>');
    expect(f).toContain('expected outcome KeyDisabled, got ok');
    expect(f).toContain('href="#s-zz-faults-lose-a-snapshot-step-2"');
    const last = RULES[RULES.length - 1]!.id;
    expect(f).toContain(`href="#r-${last}"`);
    expect(f).toMatch(/plaintext tenant key<\/a> found in <code>snapshots\/t1\/&lt;script/);
    expect(f).toMatch(/1 workflow\(s\) lost<\/a> under kms-throttle: <a href="#s-zz-faults-lose-a-snapshot">/);
    expect(f).toContain('invalid scenario file');
    expect(f.match(/<li class="f-/g)).toHaveLength(6);
    expect(section(passing, 'failures')).toContain('No failures.');
  });

  it('lists interrupted scenarios as failures with how the interruption met them, and opens them', () => {
    const r = passingResults();
    const first = r.scenarios[0]!;
    const page = htmlReport({ ...r, scenarios: [{ ...first, status: 'interrupted', reason: 'SIGINT arrived during step 2' }, ...r.scenarios.slice(1)] });
    expect(section(page, 'failures')).toContain(
      `<li class="f-interrupted"><a href="#s-${first.id}"><b>${first.id}</b></a> ${first.title} was interrupted: SIGINT arrived during step 2</li>`,
    );
    expect(page).toMatch(new RegExp(`<details id="s-${first.id}" class="scn interrupted"[^>]* open>`));
    expect(page).toContain('<p class="reason">interrupted: SIGINT arrived during step 2</p>');
  });

  it('has a target for every in-page link, and no id twice', () => {
    for (const page of [passing, failing]) {
      const all = ids(page);
      expect(new Set(all).size).toBe(all.length);
      const missing = hrefs(page).filter((h) => !all.includes(h));
      expect(missing).toEqual([]);
    }
  });

  it('gives every step an anchor and opens failed scenarios', () => {
    expect(failing).toContain('id="s-revoke-disable-scheduled-backup-step-1"');
    expect(failing).toContain('id="s-revoke-disable-scheduled-backup-step-3"');
    expect(failing).toMatch(/<details id="s-revoke-disable-scheduled-backup" class="scn failed"[^>]* open>/);
    expect(failing).toMatch(/<details id="s-needs-multi-region" class="scn not-applicable"[^>]*"><summary>/);
  });

  it('names scenarios in the matrix headers and links every mark to its scenario', () => {
    const m = section(failing, 'matrix-section');
    expect(m).toContain('<span>revoke-disable-scheduled-backup</span>');
    expect(m).toContain('<span>case-000-ekm-01-happy-path-with-lon…</span>');
    expect(m).toMatch(/title="revoke-disable-scheduled-backup: Disabling the key &lt;script/);
    const marks = [...m.matchAll(/<td class="[^"]+">(.*?)<\/td>/g)].map((x) => x[1]!);
    expect(marks.length).toBeGreaterThan(RULES.length);
    for (const cell of marks) expect(cell).toMatch(/^<a href="#s-[^"]+" title="[^"]*">[^<]+<\/a>$/);
    expect(m).toMatch(/<td class="not-applicable"><a href="#s-needs-multi-region" title="[^"]*not applicable: needs capability multi-region-replicas/);
  });

  it('marks documented and derived rules', () => {
    const m = section(failing, 'matrix-section');
    for (const kind of ['documented', 'derived'] as const) {
      const n = RULES.filter((r) => r.kind === kind).length;
      expect(m.match(new RegExp(`<span class="kind ${kind}">${kind}</span>`, 'g')) ?? []).toHaveLength(n + 1); // the legend too
    }
  });

  it('shows what did not run and why, the secret scan, the fault tallies, the provider and provenance', () => {
    const notRun = section(failing, 'not-run');
    expect(notRun).toContain('needs capability multi-region-replicas, which the provider does not declare');
    expect(notRun).toContain('LocalStack 4.10 cannot import key material of this spec');
    expect(section(failing, 'secret-scan')).toContain('12 plaintext keys searched for');
    expect(section(passing, 'secret-scan')).toContain('No plaintext key found.');
    expect(section(failing, 'faults')).toMatch(/<th>kms-throttle<\/th><td>5<\/td><td>3<\/td><td>1<\/td><td class="">0<\/td><td class="failed">1<\/td>/);
    const run = section(failing, 'run');
    for (const text of [
      'reference 1.0.0',
      'in-process',
      '<code>multi-region</code>',
      '2026-12-01T10:00:00.000Z',
      '0123456789abcdef0123456789abcdef01234567',
      'a'.repeat(64),
      'linux-x64',
      'host 4.10.0',
      'tenant=7',
    ]) {
      expect(run).toContain(text);
    }
  });

  it('offers every rule, status and tag in the filter, hidden until the script shows it', () => {
    const form = /<form id="filter" hidden[\s\S]*?<\/form>/.exec(failing)![0];
    for (const r of RULES) expect(form).toContain(`<option value="${r.id}">`);
    for (const s of ['failed', 'passed', 'not-applicable', 'skipped']) expect(form).toContain(`<option value="${s}">`);
    expect(form).toContain('<option value="revocation">revocation</option>');
    expect(form).toContain(`<option value="${encodeURIComponent(HOSTILE).replace(/'/g, '&#39;')}">&lt;script&gt;`);
  });

  it('does not gate uncovered rules in a partial run that does not require them', () => {
    const partial = { ...failingResults(), verdict: { ok: false, status: 'failed' as const, scope: 'partial' as const, reasons: ['2 scenarios failed'] } };
    const f = section(htmlReport(partial), 'failures');
    expect(f).not.toContain('class="f-rule"');
    expect(f).toContain('Not covered by this partial run (not gated)');
  });

  it('renders 100 scenarios × 21 rules quickly', () => {
    const results = failingResults(100);
    const started = performance.now();
    const page = htmlReport(results);
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(250);
    expect(page.length).toBeLessThan(1_000_000);
  });
});
