// One run, one verdict: the exit code, the closing line, results.json, index.html's heading and
// junit.xml's failure count agree, for every kind of run (issue 14).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogueRule, Executor, World } from '@ekm/scenario-runner';
import { cli, type Io } from './cli.ts';

const RULES: CatalogueRule[] = [
  { id: 'EKM-01', title: 'activation', kind: 'documented', quote: 'q1' },
  { id: 'EKM-12', title: 'revocation', kind: 'documented', quote: 'q12' },
];
const scenario = (id: string, rules: string, tags = 'ok') =>
  `apiVersion: ekm.conformance/v1\nkind: Scenario\nid: ${id}\ntitle: ${id} title\nrules: [${rules}]\ntags: [${tags}]\nsteps:\n  - support.activate:\n  - admin.createKey: A\n`;

/** Fails scenarios tagged `wrong`; waits on the signal in scenarios tagged `slow`. */
const executor: Executor = async (loaded, ctx) => {
  const tags = loaded.scenario.tags ?? [];
  if (tags.includes('slow'))
    await new Promise((resolve) => (ctx.signal.aborted ? resolve(undefined) : ctx.signal.addEventListener('abort', resolve, { once: true })));
  const wrong = tags.includes('wrong') || (tags.includes('slow') && ctx.signal.aborted);
  return {
    id: loaded.scenario.id,
    title: loaded.scenario.title,
    file: loaded.file,
    line: loaded.line,
    status: wrong ? 'failed' : 'passed',
    rules: loaded.scenario.rules,
    durationMs: 1,
    steps: loaded.scenario.steps.map((s, i) => ({
      title: s.title,
      status: wrong && i === 1 ? ('failed' as const) : ('passed' as const),
      kmsCalls: [],
      line: loaded.stepLines[i]!,
      ...(wrong && i === 1 ? { error: 'ECONNREFUSED' } : {}),
    })),
  };
};

let dir: string;
const io = (signal?: AbortSignal): Io & { out: () => string; err: () => string } => {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t), isTTY: false },
    stderr: { write: (t: string) => (err += t) },
    cwd: dir,
    rules: RULES,
    ...(signal === undefined ? {} : { signal }),
    openWorld: async (options): Promise<World> => ({
      executor,
      withProvider: () => executor,
      provider: options.provider,
      transitions: [],
      close: async () => {},
    }),
    out: () => out,
    err: () => err,
  };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ekm-verdict-'));
  await mkdir(join(dir, 'scenarios', 'a'), { recursive: true });
  await writeFile(join(dir, 'scenarios', 'a', 'one.yaml'), [scenario('a1', 'EKM-01'), scenario('a2', 'EKM-12')].join('---\n'));
  await writeFile(join(dir, 'scenarios', 'two.yaml'), scenario('b1', 'EKM-12'));
  await mkdir(join(dir, 'failing'), { recursive: true });
  await writeFile(join(dir, 'failing', 'f.yaml'), [scenario('c1', 'EKM-01'), scenario('c2', 'EKM-12', 'wrong')].join('---\n'));
  await mkdir(join(dir, 'slow'), { recursive: true });
  await writeFile(
    join(dir, 'slow', 's.yaml'),
    [scenario('d1', 'EKM-01', 'slow'), scenario('d2', 'EKM-12', 'slow'), scenario('d3', 'EKM-12', 'slow')].join('---\n'),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function reports(out: string) {
  const results = JSON.parse(await readFile(join(dir, out, 'results.json'), 'utf8'));
  const junit = await readFile(join(dir, out, 'junit.xml'), 'utf8');
  const html = await readFile(join(dir, out, 'index.html'), 'utf8');
  return {
    verdict: results.verdict.status as string,
    junitFailures: Number(/<testsuites [^>]*failures="(\d+)"/.exec(junit)![1]),
    heading: /<h1[^>]*>([\s\S]*?)<\/h1>/
      .exec(html)![1]!
      .replace(/<[^>]+>/g, '')
      .trim(),
  };
}

function agree(code: number, o: { out: () => string }, r: Awaited<ReturnType<typeof reports>>, want: 'passed' | 'failed' | 'interrupted') {
  const closing = o.out().trim().split('\n').at(-1)!;
  const failed = Number(/(\d+) failed/.exec(closing)![1]);
  expect({ code, verdict: r.verdict, headingShows: r.heading.toLowerCase().includes(want), junitFailures: r.junitFailures }).toEqual({
    code: want === 'passed' ? 0 : want === 'failed' ? 1 : 130,
    verdict: want,
    headingShows: true,
    junitFailures: failed,
  });
  expect(closing).toMatch(/^conformance: \d+ passed, \d+ failed(, \d+ skipped)?( \(interrupted\))?$/);
}

describe('one verdict everywhere', () => {
  it('a shard run', async () => {
    const o = io();
    const code = await cli(['run', '--shard', '1/2', '--out', 'o-shard'], o);
    agree(code, o, await reports('o-shard'), 'passed');
  });

  it('a --grep run', async () => {
    const o = io();
    const code = await cli(['run', '--grep', '^a2$', '--out', 'o-grep'], o);
    agree(code, o, await reports('o-grep'), 'passed');
    expect(o.out()).toContain('1 scenario(s): 1 passed');
  });

  it('a single-file run is not gated on covering every rule', async () => {
    const o = io();
    const code = await cli(['run', 'scenarios/two.yaml', '--out', 'o-file'], o);
    agree(code, o, await reports('o-file'), 'passed');
    expect(JSON.parse(await readFile(join(dir, 'o-file', 'results.json'), 'utf8')).verdict.scope).toBe('partial');
  });

  it('`ekm run scenarios` (the suite folder named) is a full run, gated on every rule', async () => {
    const o = io();
    const code = await cli(['run', 'scenarios', '--out', 'o-named'], o);
    const results = JSON.parse(await readFile(join(dir, 'o-named', 'results.json'), 'utf8'));
    expect(results.verdict.scope).toBe('full');
    agree(code, o, await reports('o-named'), 'passed');
    const sub = io();
    await cli(['run', 'scenarios/a', '--out', 'o-sub'], sub);
    expect(JSON.parse(await readFile(join(dir, 'o-sub', 'results.json'), 'utf8')).verdict.scope).toBe('partial');
  });

  it('a failing full run: the failing scenario counts once everywhere', async () => {
    const o = io();
    const code = await cli(['run', 'failing', '--require-all-rules', '--out', 'o-fail'], o);
    const r = await reports('o-fail');
    agree(code, o, r, 'failed');
    expect(r.junitFailures).toBe(1);
  });

  it('a full run that misses a rule fails, and the uncovered rule is a failing junit testcase too', async () => {
    const o = io();
    const code = await cli(['run', 'scenarios/two.yaml', '--require-all-rules', '--out', 'o-uncovered'], o);
    const r = await reports('o-uncovered');
    agree(code, o, r, 'failed');
    expect(await readFile(join(dir, 'o-uncovered', 'junit.xml'), 'utf8')).toContain('<failure message="rule EKM-01 has no scenario" type="GateFailed">');
  });

  it('--grep that matches nothing says so and exits non-zero', async () => {
    const o = io();
    const code = await cli(['run', '--grep', 'nomatch', '--out', 'o-none'], o);
    expect(code).toBe(1);
    expect(o.err()).toContain('no scenario was selected (scenarios --grep nomatch): a run that tests nothing proves nothing');
    agree(code, o, await reports('o-none'), 'failed');
  });

  it('Ctrl-C: scenarios in flight and not started are interrupted (never failed), the reports say so, exit 130', async () => {
    const controller = new AbortController();
    const o = io(controller.signal);
    setTimeout(() => controller.abort('SIGINT'), 200);
    const code = await cli(['run', 'slow', '--concurrency', '1', '--out', 'o-int'], o);
    const r = await reports('o-int');
    agree(code, o, r, 'interrupted');
    const results = JSON.parse(await readFile(join(dir, 'o-int', 'results.json'), 'utf8'));
    expect(results.scenarios.map((s: { status: string }) => s.status)).toEqual(['interrupted', 'interrupted', 'interrupted']);
    expect(results.summary.failed).toBe(0);
    expect(o.out()).toMatch(/conformance: 0 passed, 0 failed, 3 skipped \(interrupted\)\n$/);
    const term = new AbortController();
    setTimeout(() => term.abort('SIGTERM'), 100);
    expect(await cli(['run', 'slow', '--concurrency', '1', '--out', 'o-term'], io(term.signal))).toBe(143);
  });
});

describe('ekm verify', () => {
  it('accepts a fresh bundle, and refuses one with an edited results.json or a changed scenario file', async () => {
    expect(await cli(['run', 'scenarios', '--out', 'o-verify'], io())).toBe(0);
    const ok = io();
    expect(await cli(['verify', 'o-verify', 'scenarios'], ok)).toBe(0);
    expect(ok.out()).toContain('verify: the bundle is complete, unmodified and consistent');

    const file = join(dir, 'o-verify', 'results.json');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('"passed": 3', '"passed": 4'));
    const edited = io();
    expect(await cli(['verify', 'o-verify'], edited)).toBe(1);
    expect(edited.err()).toContain('problem: results.json was changed after the run wrote it');
    await writeFile(file, original);

    await writeFile(join(dir, 'scenarios', 'two.yaml'), scenario('b1', 'EKM-12').replace('title: b1 title', 'title: b1 retitled'));
    const changed = io();
    expect(await cli(['verify', 'o-verify', 'scenarios'], changed)).toBe(1);
    expect(changed.err()).toContain("the scenario files differ from the run's: changed scenarios/two.yaml");
    await writeFile(join(dir, 'scenarios', 'two.yaml'), scenario('b1', 'EKM-12'));

    const missing = io();
    await rm(join(dir, 'o-verify', 'junit.xml'));
    expect(await cli(['verify', 'o-verify'], missing)).toBe(1);
    expect(missing.err()).toContain('problem: junit.xml is missing');
  });
});
