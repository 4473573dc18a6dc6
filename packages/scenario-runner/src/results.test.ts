import { describe, expect, it } from 'vitest';
import { loadText } from './load.ts';
import { htmlReport, junitXml } from './report.ts';
import type { CatalogueRule, ScenarioResult } from './results.ts';
import { buildResults, mergeResults, MergeError, parseResults } from './results.ts';
import { closingLine, gate, withVerdict } from './verdict.ts';
import { parse as parseJunit } from 'junit2json';
import { parseShard, selectShard } from './schedule.ts';

export const RULES: CatalogueRule[] = [
  { id: 'EKM-01', title: 'Support activates EKM', kind: 'documented', quote: "Without this activation, you won't see the configuration fields" },
  {
    id: 'EKM-12',
    title: 'Revocation fails the next workflow',
    kind: 'documented',
    quote: "If you revoke an encryption key's access, then the subsequent backups, restores, or downloads will fail.",
  },
  { id: 'EKM-20', title: 'Encryption context & tenants', kind: 'derived', quote: 'Secure backed-up data.' },
];

export function scenarioResult(id: string, rules: string[], status: 'passed' | 'failed' = 'passed', transitions: string[] = []): ScenarioResult {
  return {
    id,
    title: `title of ${id}`,
    file: `scenarios/${id}.yaml`,
    status,
    rules,
    durationMs: 10,
    transitions,
    steps: [
      { title: 'admin.createKey key=A', status: 'passed', kmsCalls: [{ operation: 'CreateKey', from: 'customer', key: 'A', result: 'ok' }], line: 7 },
      {
        title: 'workflow.scheduledBackup',
        status: status === 'passed' ? 'passed' : 'failed',
        kmsCalls: [{ operation: 'Decrypt', from: 'provider', key: 'A', encryptionContext: { tenant: 't1', purpose: 'tenant-key' }, result: 'KeyDisabled' }],
        ...(status === 'failed' ? { error: 'expected outcome KeyDisabled, found ok' } : {}),
        line: 8,
      },
    ],
  };
}

const full = [
  scenarioResult('b-revoke', ['EKM-12'], 'passed', ['enable']),
  scenarioResult('a-activate', ['EKM-01'], 'passed', ['activate']),
  scenarioResult('c-context', ['EKM-20', 'EKM-12'], 'passed', ['enable', 'update']),
  scenarioResult('d-more', ['EKM-12'], 'passed'),
];
const TRANSITIONS = ['activate', 'enable', 'update', 'return'];

describe('results.json', () => {
  it('a scenario that cannot run here is skipped with its reason: it fails nothing and covers nothing', () => {
    const cannot: ScenarioResult = {
      ...scenarioResult('e-freeze', ['EKM-20']),
      status: 'skipped',
      steps: [
        {
          title: 'fault.localstack freeze=2s',
          status: 'skipped',
          kmsCalls: [],
          error: 'not applicable here: fault.localstack needs a LocalStack this run started',
        },
      ],
    };
    const r = buildResults([...full.slice(0, 2), cannot], { rules: RULES, durationMs: 1 });
    expect(r.summary).toMatchObject({ scenarios: 3, passed: 2, failed: 0, skipped: 1 });
    expect(r.rules.find((x) => x.id === 'EKM-20')!.status).toBe('uncovered');
    expect(gate(r).reasons).toEqual(['rule EKM-20 has no scenario']);
    expect(gate(buildResults([...full, cannot], { rules: RULES, durationMs: 1 })).ok).toBe(true);
    expect(junitXml(r)).toContain('<skipped message="not applicable here: fault.localstack needs a LocalStack this run started"/>');
  });

  it('has summary, rules with status and scenarios, scenarios with steps, transitions', () => {
    const r = buildResults(full, { rules: RULES, transitions: TRANSITIONS, durationMs: 1234.4 });
    expect(r.summary).toEqual({ scenarios: 4, passed: 4, failed: 0, skipped: 0, invalidFiles: 0, durationMs: 1234 });
    expect(r.rules).toEqual([
      { ...RULES[0], status: 'passed', scenarios: ['a-activate'] },
      { ...RULES[1], status: 'passed', scenarios: ['b-revoke', 'c-context', 'd-more'] },
      { ...RULES[2], status: 'passed', scenarios: ['c-context'] },
    ]);
    expect(r.scenarios.map((s) => s.id)).toEqual(['a-activate', 'b-revoke', 'c-context', 'd-more']);
    const s = r.scenarios[0]!;
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['id', 'file', 'status', 'rules', 'durationMs', 'steps']));
    expect(Object.keys(s.steps[0]!)).toEqual(expect.arrayContaining(['title', 'status', 'kmsCalls']));
    expect(r.transitions).toEqual({ total: 4, covered: 3, coveredIds: ['activate', 'enable', 'update'] });
    expect(parseResults(JSON.stringify(r), 'x')).toEqual(r);
  });

  it('a rule is failed when one of its scenarios fails, uncovered when none names it', () => {
    const r = buildResults([scenarioResult('x', ['EKM-12'], 'failed'), scenarioResult('y', ['EKM-12'])], { rules: RULES, durationMs: 1 });
    expect(r.rules.map((x) => [x.id, x.status])).toEqual([
      ['EKM-01', 'uncovered'],
      ['EKM-12', 'failed'],
      ['EKM-20', 'uncovered'],
    ]);
  });

  it('refuses what is not a results.json', () => {
    expect(() => parseResults('{', 'a/results.json')).toThrow('a/results.json: expected JSON');
    expect(() => parseResults('{"version":2}', 'a/results.json')).toThrow(MergeError);
  });
});

describe('the gate', () => {
  it('passes a full run where every rule has a passing scenario', () => {
    expect(gate(buildResults(full, { rules: RULES, durationMs: 1 }))).toEqual({ ok: true, reasons: [] });
  });

  it('fails on a failing scenario, naming the step', () => {
    const v = gate(buildResults([...full.slice(1), scenarioResult('b-revoke', ['EKM-12'], 'failed')], { rules: RULES, durationMs: 1 }));
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(['scenario b-revoke failed at step 2 "workflow.scheduledBackup"', 'rule EKM-12 has a failing scenario']);
  });

  it('fails when a rule has no scenario, and when the catalogue is empty', () => {
    const v = gate(buildResults(full.slice(0, 2), { rules: RULES, durationMs: 1 }));
    expect(v).toEqual({ ok: false, reasons: ['rule EKM-20 has no scenario'] });
    expect(gate(buildResults(full, { rules: [], durationMs: 1 })).ok).toBe(false);
  });

  it('fails when a scenario file is invalid', () => {
    const bad = loadText(
      'apiVersion: ekm.conformance/v1\nkid: Scenario\nid: x\ntitle: t\nrules: [EKM-12]\nsteps:\n  - support.activate:\n',
      'scenarios/bad.yaml',
    ).errors;
    const v = gate(buildResults(full, { rules: RULES, durationMs: 1, errors: bad }));
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toBe('invalid scenario file: scenarios/bad.yaml:2:1: unknown field "kid"; did you mean "kind"?');
  });

  it('does not demand coverage of one shard, but does of the merged shards', () => {
    const shard = buildResults(full.slice(0, 1), { rules: RULES, durationMs: 1, shard: { index: 1, count: 4, suiteScenarios: 4 } });
    expect(gate(shard).ok).toBe(true);
  });
});

describe('sharding and merge', () => {
  const loaded = full.map((s) => ({ scenario: { id: s.id } }));

  it('parses i/n and refuses anything else', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/2', '3/2', '1/0', 'a/b', '1', '1/2/3', '-1/2']) expect(() => parseShard(bad)).toThrow(/--shard: expected i\/n/);
  });

  it('shards are disjoint, cover everything and do not depend on input order', () => {
    for (const n of [1, 2, 3, 5]) {
      const parts = Array.from({ length: n }, (_, i) => selectShard(loaded, { index: i + 1, count: n }).map((s) => s.scenario.id));
      expect(parts.flat().sort()).toEqual(full.map((s) => s.id).sort());
      const reversed = Array.from({ length: n }, (_, i) => selectShard([...loaded].reverse(), { index: i + 1, count: n }).map((s) => s.scenario.id));
      expect(reversed).toEqual(parts);
    }
  });

  it('shard 1/2 + shard 2/2 merged equals the full run', () => {
    const byId = new Map(full.map((s) => [s.id, s]));
    const shard = (index: number) => {
      const picked = selectShard(loaded, { index, count: 2 }).map((s) => byId.get(s.scenario.id)!);
      return buildResults(picked, { rules: RULES, transitions: TRANSITIONS, durationMs: 5, shard: { index, count: 2, suiteScenarios: 4 } });
    };
    const one = shard(1);
    const two = shard(2);
    expect(one.scenarios.length + two.scenarios.length).toBe(4);
    expect(gate(one).ok).toBe(true);
    const merged = mergeResults([two, one]);
    const whole = buildResults(full, { rules: RULES, transitions: TRANSITIONS, durationMs: 5 });
    expect(merged).toEqual(whole);
    expect(gate(merged).ok).toBe(true);
  });

  it('refuses a missing shard, a duplicated scenario, and mixed runs', () => {
    const a = buildResults(full.slice(0, 2), { rules: RULES, durationMs: 1, shard: { index: 1, count: 2, suiteScenarios: 4 } });
    const b = buildResults(full.slice(2), { rules: RULES, durationMs: 1, shard: { index: 2, count: 2, suiteScenarios: 4 } });
    expect(() => mergeResults([a])).toThrow('expected all 2 shards, found shard(s) 2 missing');
    expect(() => mergeResults([a, a])).toThrow(/appears in more than one shard/);
    const c = buildResults(full.slice(2), { rules: RULES, durationMs: 1, shard: { index: 2, count: 3, suiteScenarios: 4 } });
    expect(() => mergeResults([a, c])).toThrow(/found a mix/);
    expect(() => mergeResults([])).toThrow(/found none/);
    expect(mergeResults([a, b]).summary.scenarios).toBe(4);
  });
});

describe('junit.xml', () => {
  it('has one testcase per scenario, file and line for annotations, a classname for the last-dot convention, and a failure message naming the step', () => {
    const bad = loadText(
      'apiVersion: ekm.conformance/v1\nkid: Scenario\nid: x\ntitle: t\nrules: [EKM-12]\nsteps:\n  - support.activate:\n',
      'scenarios/bad.yaml',
    ).errors;
    const r = withVerdict(
      buildResults([scenarioResult('ok-one', ['EKM-01']), scenarioResult('bad<one>', ['EKM-12'], 'failed')], { rules: RULES, durationMs: 1500, errors: bad }),
    );
    const x = junitXml(r);
    // 2 scenarios + 1 invalid file + 1 gate testcase (EKM-20 has no scenario): the closing line's count.
    expect(x).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="ekm conformance: failed" tests="4" failures="3" /);
    expect(closingLine(r)).toBe('conformance: 1 passed, 3 failed');
    expect(x.match(/<testcase /g)).toHaveLength(4);
    expect(x).toContain('<testcase classname="scenarios.ok-one" name="ok-one: title of ok-one" file="scenarios/ok-one.yaml" line="7" time="0.010"');
    expect(x).toContain('name="bad&lt;one&gt;: title of bad&lt;one&gt;" file="scenarios/bad&lt;one&gt;.yaml" line="8"');
    expect(x).toContain(
      '<failure message="step 2 &quot;workflow.scheduledBackup&quot; (scenarios/bad&lt;one&gt;.yaml:8) failed: expected outcome KeyDisabled, found ok" type="ScenarioFailed">',
    );
    expect(x).toContain('type="InvalidScenarioFile">scenarios/bad.yaml:2:1: unknown field &quot;kid&quot;');
    expect(x).toContain('<testcase classname="conformance.gate" name="rule EKM-20" time="0">');
    expect(x).not.toMatch(/<[^>]*<|[\u0000-\u0008]/);
  });

  it('reads back through a real JUnit consumer (junit2json) with the same counts, files, lines and verdict', async () => {
    const r = withVerdict(
      buildResults([scenarioResult('ok-one', ['EKM-01']), scenarioResult('bad', ['EKM-12'], 'failed'), scenarioResult('c', ['EKM-20'])], {
        rules: RULES,
        durationMs: 10,
      }),
    );
    const parsed = (await parseJunit(junitXml(r))) as {
      name: string;
      tests: number;
      failures: number;
      testsuite: { name: string; testcase: { classname: string; file?: string; line?: number; failure?: unknown[] }[] }[];
    };
    expect(parsed).toMatchObject({ name: 'ekm conformance: failed', tests: 3, failures: 1 });
    const cases = parsed.testsuite.flatMap((s) => s.testcase);
    expect(cases.map((c) => [c.classname, c.file, Number(c.line), c.failure === undefined ? 'ok' : 'failed'])).toEqual([
      ['scenarios.bad', 'scenarios/bad.yaml', 8, 'failed'],
      ['scenarios.c', 'scenarios/c.yaml', 7, 'ok'],
      ['scenarios.ok-one', 'scenarios/ok-one.yaml', 7, 'ok'],
    ]);
    // Jenkins takes the class after the last dot: the file's name, not its extension.
    expect(cases.map((c) => c.classname.split('.').at(-1))).toEqual(['bad', 'c', 'ok-one']);
  });
});

describe('index.html', () => {
  it('is self-contained and holds the rule x scenario matrix with the article words and each timeline', () => {
    const r = buildResults([...full, scenarioResult('e-<script>', ['EKM-12'], 'failed')], { rules: RULES, durationMs: 1 });
    const page = htmlReport(r);
    expect(page).toMatch(/^<!doctype html>/);
    // One inline script (the filter), nothing loaded from elsewhere, and the scenario's own text never becomes markup.
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).not.toMatch(/<link|src="http|href="http|<script>[^<]*e-<script>/);
    expect(page).toContain('<table id="matrix" class="matrix">');
    expect(page).toContain('<q>If you revoke an encryption key&#39;s access, then the subsequent backups, restores, or downloads will fail.</q>');
    expect(page).toContain('Encryption context &amp; tenants');
    // one row per rule, one column per scenario
    expect(page.match(/<th class="rule" scope="row">/g)).toHaveLength(3);
    const row12 = page.split('\n').find((l) => l.includes('<b>EKM-12</b>'))!;
    expect(row12.match(/<td class="passed"/g)).toHaveLength(3);
    expect(row12.match(/<td class="failed"/g)).toHaveLength(1);
    expect(page.match(/<h1[^>]*>([\s\S]*?)<\/h1>/)![1]!.replace(/<[^>]+>/g, '')).toBe('EKM conformance: failed');
    expect(page).toContain('Decrypt from provider on A tenant=t1, purpose=tenant-key → KeyDisabled');
    expect(page).toContain('e-&lt;script&gt;');
  });
});
