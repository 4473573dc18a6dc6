import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogueRule, Executor, World } from '@ekm/scenario-runner';
import { cli } from './cli.ts';
import type { Io } from './cli.ts';

const RULES: CatalogueRule[] = [
  { id: 'EKM-01', title: 'activation', kind: 'documented', quote: "Without this activation, you won't see the configuration fields" },
  { id: 'EKM-12', title: 'revocation', kind: 'documented', quote: 'the subsequent backups, restores, or downloads will fail' },
  { id: 'EKM-20', title: 'context', kind: 'derived', quote: 'Secure backed-up data.' },
];

const scenario = (id: string, rules: string, tags = 'ok') =>
  `apiVersion: ekm.conformance/v1\nkind: Scenario\nid: ${id}\ntitle: ${id} title\nrules: [${rules}]\ntags: [${tags}]\nsteps:\n  - support.activate:\n  - admin.createKey: A\n  - admin.disableKey: A\n    expect: { outcome: KeyDisabled }\n`;

/** Passes every step, except in scenarios tagged `wrong`, whose expectation at step 3 does not hold. */
const executor: Executor = async (loaded) => {
  const wrong = loaded.scenario.tags?.includes('wrong') === true;
  const steps = loaded.scenario.steps.map((s, i) => ({
    title: s.title,
    status: wrong && i === 2 ? ('failed' as const) : ('passed' as const),
    kmsCalls: i === 2 ? [{ operation: 'DisableKey', from: 'customer', key: 'A', result: 'ok' }] : [],
    ...(wrong && i === 2 ? { error: 'expected outcome KeyDisabled, found ok' } : {}),
    line: loaded.stepLines[i]!,
  }));
  return {
    id: loaded.scenario.id,
    title: loaded.scenario.title,
    file: loaded.file,
    status: wrong ? 'failed' : 'passed',
    rules: loaded.scenario.rules,
    durationMs: 2,
    steps,
    transitions: [`t-${loaded.scenario.id}`],
  };
};

let dir: string;
let closed = 0;

function io(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t), isTTY: false },
    stderr: { write: (t: string) => (err += t) },
    cwd: dir,
    rules: RULES,
    openWorld: async (options): Promise<World> => ({
      executor,
      withProvider: () => executor,
      provider: options.provider,
      transitions: ['t-a1', 't-b2', 't-c3', 't-d4', 't-none'],
      close: async () => void closed++,
    }),
    out: () => out,
    err: () => err,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ekm-cli-'));
  await mkdir(join(dir, 'scenarios', 'area'), { recursive: true });
  await writeFile(join(dir, 'scenarios', 'area', 'a.yaml'), [scenario('a1', 'EKM-01'), scenario('b2', 'EKM-12')].join('---\n'));
  await writeFile(join(dir, 'scenarios', 'c.yaml'), [scenario('c3', 'EKM-20, EKM-12'), scenario('d4', 'EKM-12')].join('---\n'));
  await writeFile(join(dir, 'wrong.yaml'), scenario('e5', 'EKM-12', 'wrong'));
  await writeFile(join(dir, 'typo.yaml'), scenario('f6', 'EKM-12').replace('admin.disableKey', 'admin.disabelKey'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('argument errors exit 2 with one line saying what is wrong', () => {
  const cases: [string[], string][] = [
    [['run', '--bogus'], "ekm run: unknown option '--bogus'"],
    [['run', '--shard', '3/2'], 'ekm run: --shard: expected i/n with 1 <= i <= n (e.g. 1/2), found "3/2"'],
    [['run', '--shard'], "ekm run: option '--shard <value>' argument missing"],
    [['run', '--concurrency', '0'], 'ekm run: --concurrency: expected a whole number of at least 1, found "0"'],
    [['run', '--concurrency', 'lots'], 'ekm run: --concurrency: expected a whole number of at least 1, found "lots"'],
    [['run', '--localstack', 'cloud'], 'ekm run: --localstack: expected one of auto, host, docker, external, found "cloud"'],
    [['run', '--endpoint', 'localhost:4566'], 'ekm run: --endpoint: expected an http or https URL, found "localhost:4566"'],
    [['run', '--endpoint', 'not a url'], 'ekm run: --endpoint: expected a URL such as http://localhost:4566, found "not a url"'],
    [['run', '--localstack', 'external'], 'ekm run: --localstack external: expected --endpoint <url> too, found none'],
    [['run', '--grep', '(unclosed'], 'ekm run: --grep: expected a regular expression, found "(unclosed"'],
    [['rules', 'extra'], 'ekm rules: unexpected argument "extra"'],
    [['rules', '--json=yes'], "ekm rules: option '--json' does not take an argument"],
    [['report'], 'ekm report: expected "report merge <dirs..>"'],
    [['report', 'split'], 'ekm report: unknown report command "split"'],
    [['report', 'merge'], 'ekm report: report merge: expected one or more report directories, found none'],
    [['doctor'], 'ekm doctor: expected --key-arn <arn>, found none'],
    [['doctor', '--key-arn', 'x', '--account', '444455556666'], 'ekm doctor: --account: only used with --endpoint, which is missing'],
    [
      ['doctor', '--key-arn', 'x', '--endpoint', 'http://127.0.0.1:1'],
      "ekm doctor: --endpoint: expected --account <the provider's 12-digit account ID> too, found none",
    ],
    [
      ['doctor', '--key-arn', 'x', '--endpoint', 'http://127.0.0.1:1', '--account', '4444'],
      'ekm doctor: --account: expected a 12-digit AWS account ID, found "4444"',
    ],
    [['doctor', '--key-arn', 'x', '--region', 'Mars'], 'ekm doctor: --region: expected a Region such as us-east-1, found "Mars"'],
    [['doctor', '--key-arn'], "ekm doctor: option '--key-arn <value>' argument missing"],
    [['gateway', '--port', '70000'], 'ekm gateway: --port: expected a port number from 0 to 65535, found "70000"'],
    [['gateway', '--localstack', 'cloud'], 'ekm gateway: --localstack: expected one of auto, host, docker, external, found "cloud"'],
    [['gateway', 'now'], 'ekm gateway: unexpected argument "now"'],
    [['frobnicate'], 'ekm: unknown command "frobnicate"'],
  ];
  for (const [argv, message] of cases) {
    it(`ekm ${argv.join(' ')}`, async () => {
      const o = io();
      expect(await cli(argv, o)).toBe(2);
      expect(o.err().split('\n')[0]).toBe(message);
      expect(o.err()).not.toMatch(/\n\s+at /);
    });
  }

  it('no command prints the usage and exits 2; help exits 0', async () => {
    const o = io();
    expect(await cli([], o)).toBe(2);
    expect(o.err()).toMatch(/^usage: ekm <command>/);
    expect(await cli(['help'], o)).toBe(0);
    expect(o.out()).toContain('report merge <dirs..>');
    expect(o.out()).toContain('--key-arn <arn>');
    expect(o.out()).toContain('(default: ekm-doctor)');
    expect(o.out()).toContain('--audit-file <f>');
  });
});

describe('ekm validate', () => {
  it('a typo names file:line:column and exits 1', async () => {
    const o = io();
    expect(await cli(['validate', 'typo.yaml', 'scenarios'], o)).toBe(1);
    expect(o.err()).toBe('typo.yaml:10:5: unknown field "admin.disabelKey"; did you mean "admin.disableKey"?\n1 error(s) in 1 file(s)\n');
  });

  it('valid files exit 0; no files at all is an error', async () => {
    const o = io();
    expect(await cli(['validate', 'scenarios'], o)).toBe(0);
    expect(o.out()).toBe('4 scenario(s) in 2 file(s): valid\n');
    await mkdir(join(dir, 'empty'), { recursive: true });
    expect(await cli(['validate', 'empty'], o)).toBe(1);
    expect(o.err()).toContain('expected scenario files (.yaml) under empty, found none');
  });
});

describe('ekm run and the gate', () => {
  it('a passing suite exits 0 and writes results.json, junit.xml and index.html', async () => {
    const o = io();
    const before = closed;
    expect(await cli(['run', 'scenarios', '--out', 'out/full', '--concurrency', '2'], o)).toBe(0);
    expect(closed).toBe(before + 1);
    expect(o.out()).toContain('4 scenario(s): 4 passed, 0 failed; rules: 3/3 passed');
    expect(o.out()).toContain('gate: passed');
    const results = JSON.parse(await readFile(join(dir, 'out/full/results.json'), 'utf8'));
    expect(results.summary).toMatchObject({ scenarios: 4, passed: 4, failed: 0 });
    expect(results.rules.map((r: { id: string; status: string }) => `${r.id}:${r.status}`)).toEqual(['EKM-01:passed', 'EKM-12:passed', 'EKM-20:passed']);
    expect(results.transitions).toMatchObject({ total: 5, covered: 4 });
    expect(await readFile(join(dir, 'out/full/junit.xml'), 'utf8')).toContain('tests="4" failures="0"');
    expect(await readFile(join(dir, 'out/full/index.html'), 'utf8')).toContain('<table id="matrix" class="matrix">');
  });

  it('a wrong expectation fails the run and names the step', async () => {
    const o = io();
    expect(await cli(['run', 'scenarios', 'wrong.yaml', '--out', 'out/wrong'], o)).toBe(1);
    expect(o.out()).toContain('FAIL e5: step 3 "admin.disableKey key=A" (wrong.yaml:10): expected outcome KeyDisabled, found ok');
    expect(o.err()).toContain('scenario e5 failed at step 3 "admin.disableKey key=A"');
    expect(await readFile(join(dir, 'out/wrong/junit.xml'), 'utf8')).toContain(
      'failure message="step 3 &quot;admin.disableKey key=A&quot; (wrong.yaml:10) failed',
    );
  });

  it('an invalid file fails the gate even when every scenario passes', async () => {
    const o = io();
    expect(await cli(['run', 'scenarios', 'typo.yaml', '--out', 'out/typo'], o)).toBe(1);
    expect(o.err()).toContain('typo.yaml:10:5: unknown field "admin.disabelKey"');
    expect(o.err()).toContain('invalid scenario file: typo.yaml:10:5');
  });

  it('a subset run is gated on what it ran; with --require-all-rules, a rule without a scenario fails the gate', async () => {
    const o = io();
    expect(await cli(['run', 'scenarios/area', '--out', 'out/partial'], o)).toBe(0);
    expect(o.out()).toContain('subset run (paths, --grep or --shard): not gated on covering every rule');
    const strict = io();
    expect(await cli(['run', 'scenarios/area', '--require-all-rules', '--out', 'out/partial-strict'], strict)).toBe(1);
    expect(strict.err()).toContain('rule EKM-20 has no scenario');
  });

  it('--grep runs the matching scenarios and does not gate on coverage', async () => {
    const o = io();
    expect(await cli(['run', 'scenarios', '--grep', '^c3$', '--out', 'out/grep'], o)).toBe(0);
    expect(o.out()).toContain('1 scenario(s): 1 passed');
  });

  it('--shard 1/2 and 2/2 run each scenario once; their merge equals the full run', async () => {
    const o = io();
    expect(await cli(['run', 'scenarios', '--shard', '1/2', '--out', 'out/s1'], o)).toBe(0);
    expect(await cli(['run', 'scenarios', '--shard', '2/2', '--out', 'out/s2'], o)).toBe(0);
    const read = async (d: string) => JSON.parse(await readFile(join(dir, d, 'results.json'), 'utf8'));
    const [s1, s2] = [await read('out/s1'), await read('out/s2')];
    const ids = [...s1.scenarios, ...s2.scenarios].map((s: { id: string }) => s.id).sort();
    expect(ids).toEqual(['a1', 'b2', 'c3', 'd4']);
    expect(await cli(['report', 'merge', 'out/s2', 'out/s1', '--out', 'out/merged'], o)).toBe(0);
    const [merged, full] = [await read('out/merged'), await read('out/full')];
    expect(merged.rules).toEqual(full.rules);
    expect(merged.transitions).toEqual(full.transitions);
    expect(merged.scenarios.map((s: { id: string }) => s.id)).toEqual(full.scenarios.map((s: { id: string }) => s.id));
    expect(merged.summary).toMatchObject({ scenarios: 4, passed: 4, failed: 0 });
    // a shard alone cannot be merged into a full run
    const lone = io();
    expect(await cli(['report', 'merge', 'out/s1'], lone)).toBe(1);
    expect(lone.err()).toBe('ekm report merge: expected all 2 shards, found shard(s) 2 missing\n');
    expect(await cli(['report', 'merge', 'out/nowhere'], lone)).toBe(1);
    expect(lone.err()).toContain('out/nowhere/results.json: expected a results.json, found nothing readable');
  });

  it("ekm rules shows the catalogue with the last run's coverage", async () => {
    const o = io();
    expect(await cli(['rules', '--json', '--out', 'out/partial'], o)).toBe(0);
    const rows = JSON.parse(o.out());
    expect(rows.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([
      ['EKM-01', 'passed'],
      ['EKM-12', 'passed'],
      ['EKM-20', 'uncovered'],
    ]);
    expect(rows[0].quote).toBe(RULES[0]!.quote);
    const text = io();
    expect(await cli(['rules', '--out', 'out/none'], text)).toBe(0);
    expect(text.out()).toContain('EKM-12  not run');
    expect(text.out()).toContain('no results at out/none/results.json: run "ekm run" first');
  });
});

describe('bin/ekm.mjs', () => {
  it('runs through tsx with the real catalogue: validate names file:line of a typo', async () => {
    const bin = fileURLToPath(new URL('../bin/ekm.mjs', import.meta.url));
    const run = promisify(execFile);
    const failed = await run(process.execPath, [bin, 'validate', 'typo.yaml'], { cwd: dir }).catch((e: { code: number; stderr: string }) => e);
    expect('code' in failed && failed.code).toBe(1);
    expect((failed as { stderr: string }).stderr).toContain('typo.yaml:10:5: unknown field "admin.disabelKey"; did you mean "admin.disableKey"?');
    const rules = await run(process.execPath, [bin, 'rules', '--json'], { cwd: dir });
    expect(JSON.parse(rules.stdout)).toHaveLength(21);
  }, 180_000); // two cold starts; slow when the integration project runs beside it
});

describe('help and version', () => {
  it('every command answers --help with its own usage, generated from the option table, and exits 0', async () => {
    const { COMMANDS } = await import('./commands.ts');
    for (const name of Object.keys(COMMANDS)) {
      const o = io();
      expect(await cli([name, '--help'], o)).toBe(0);
      expect(o.out()).toMatch(new RegExp(`^usage: ekm ${name}`));
      for (const option of Object.keys((COMMANDS as Record<string, { options: object }>)[name]!.options)) expect(o.out()).toContain(`--${option}`);
    }
    const o = io();
    expect(await cli(['run', '--help'], o)).toBe(0);
    expect(o.out()).toContain('--require-all-rules');
    expect(o.out()).toContain('--provider <url>');
  });

  // Regression: `verify <results dir> [scenario paths..]` filled its column and ran into its summary.
  it('usage keeps two spaces between every command or option and its help; a long one gets a line of its own', async () => {
    const o = io();
    expect(await cli(['help'], o)).toBe(0);
    expect(o.out()).toMatch(/\n {2}verify <results dir> \[scenario paths\.\.\]\n {30}check a results bundle/);
    for (const line of o.out().split('\n')) expect(line, line).not.toMatch(/^ {2}\S.*\S(\.\.|\]|>)[a-z]/);
  });

  it('--version names the harness, the protocol and the commit', async () => {
    const o = io();
    expect(await cli(['--version'], o)).toBe(0);
    expect(o.out()).toMatch(/^ekm \d+\.\d+\.\d+ \(ekm\.provider\/v1(, commit [0-9a-f]{12})?\)\n$/);
  });

  it("a bad option points at the command's own --help", async () => {
    const o = io();
    expect(await cli(['run', '--bogus'], o)).toBe(2);
    expect(o.err()).toContain('run "ekm run --help" for usage');
  });
});

describe('the light dispatcher', () => {
  it('parses --localstack against the same modes the runner knows', async () => {
    const { LOCALSTACK_MODES } = await import('@ekm/scenario-runner');
    const local = await import('./args.ts');
    expect([...local.LOCALSTACK_MODES]).toEqual([...LOCALSTACK_MODES]);
  });
});

describe('paths from where the user stands', () => {
  it("from a subfolder, validate and run find the suite of the checkout, and relative paths are the user's", async () => {
    const o = { ...io(), cwd: join(dir, 'scenarios', 'area') };
    let out = '';
    const sub = { ...o, stdout: { write: (t: string) => (out += t), isTTY: false } };
    expect(await cli(['validate'], sub)).toBe(0);
    expect(out).toContain('4 scenario(s) in 2 file(s): valid');
    out = '';
    expect(await cli(['validate', 'a.yaml'], sub)).toBe(0);
    expect(out).toContain('2 scenario(s) in 1 file(s): valid');
  });
});
