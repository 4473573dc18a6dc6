/**
 * The CLI as a person meets it: start-up of `ekm --version` and `ekm help` (the compiled bins,
 * built first with apps/cli/build.mjs), a one-scenario `ekm run` on a warm LocalStack, and the full
 * suite, median of 3, with the slowest scenario of each run. Each figure is printed with its
 * target and PASS/FAIL and added to bench/perf.ts's table by `cliBench`.
 * The suite runs with EKM_TIME_SCALE=0.05 unless the environment sets it: the gateway's toxics and
 * the reference provider's KMS timeouts and back-offs at a twentieth of real time, in proportion
 * (see scenarios/reliability); the figure says which factor it ran at.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Target } from './load.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'apps/cli/bin/ekm.mjs');
const ONE_SCENARIO = 'scenarios/enable/terms.yaml';
const STARTS = 11;
const RUNS = 3;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function run(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Promise<{ ms: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    const timer = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      // 1: the run's gate failed (a scenario failed); still a measured run.
      if (code !== 0 && code !== 1) return reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`));
      resolve({ ms: performance.now() - t0, code });
    });
  });
}

export async function cliBench(localstack: { endpoint: string; pid?: number | undefined }, targets: Target[]): Promise<Record<string, unknown>> {
  const lines: Target[] = [];
  // Printed as each is measured, so a run cut short still shows what it measured.
  const add = (t: Target) => {
    lines.push(t);
    process.stderr.write(`${t.pass ? 'PASS' : 'FAIL'} ${t.figure}: ${t.value} ${t.unit} (target ${t.target})${t.note ? `; ${t.note}` : ''}\n`);
  };
  await run([join(root, 'apps/cli/build.mjs')]);

  const startup: Record<string, number[]> = {};
  // Node's own start-up on this machine at this moment: the floor any bin stands on.
  const bare: number[] = [];
  for (let i = 0; i < STARTS; i++) bare.push((await run(['-e', ''])).ms);
  startup['node -e ""'] = bare.map((x) => Math.round(x));
  for (const [name, args] of [
    ['ekm --version', ['--version']],
    ['ekm help', ['help']],
  ] as const) {
    await run([bin, ...args]); // the page cache warm, as a second invocation finds it
    const ms: number[] = [];
    for (let i = 0; i < STARTS; i++) ms.push((await run([bin, ...args])).ms);
    startup[name] = ms.map((x) => Math.round(x));
    const m = median(ms);
    add({
      figure: `\`${name}\` wall time (compiled bin), median of ${STARTS}`,
      value: Math.round(m),
      unit: 'ms',
      target: '< 300',
      pass: m < 300,
      note: `bare \`node -e ''\` median ${Math.round(median(bare))} ms`,
    });
  }

  const scale = process.env.EKM_TIME_SCALE || '0.05';
  const env = {
    EKM_TIME_SCALE: scale,
    LOCALSTACK_ENDPOINT: localstack.endpoint,
    ...(localstack.pid === undefined ? {} : { EKM_LOCALSTACK_PID: String(localstack.pid) }),
  };
  const external = ['--localstack', 'external', '--endpoint', localstack.endpoint];
  const one: number[] = [];
  for (let i = 0; i < 5; i++) {
    const out = mkdtempSync(join(tmpdir(), 'ekm-bench-one-'));
    try {
      one.push((await run([bin, 'run', ONE_SCENARIO, '--out', out, ...external], env)).ms);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  const mOne = median(one);
  add({
    figure: `one-scenario \`ekm run ${ONE_SCENARIO}\`, LocalStack warm, median of 5`,
    value: Math.round(mOne),
    unit: 'ms',
    target: '< 3000',
    pass: mOne < 3000,
  });

  const suites: { wallMs: number; passed: number; scenarios: number; slowest: { id: string; durationMs: number } }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = mkdtempSync(join(tmpdir(), 'ekm-bench-suite-'));
    try {
      const r = await run([bin, 'run', 'scenarios', '--out', out, ...external], env);
      const file = join(out, 'results.json');
      if (!existsSync(file)) throw new Error(`ekm run scenarios exited ${r.code} without results.json`);
      const res = JSON.parse(readFileSync(file, 'utf8')) as { summary: { scenarios: number; passed: number }; scenarios: { id: string; durationMs: number }[] };
      const slowest = [...res.scenarios].sort((a, b) => b.durationMs - a.durationMs)[0]!;
      suites.push({
        wallMs: Math.round(r.ms),
        passed: res.summary.passed,
        scenarios: res.summary.scenarios,
        slowest: { id: slowest.id, durationMs: slowest.durationMs },
      });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  const mSuite = median(suites.map((s) => s.wallMs));
  const worst = Math.max(...suites.map((s) => s.slowest.durationMs));
  const each = suites
    .map((s) => `${(s.wallMs / 1000).toFixed(1)} s (${s.passed}/${s.scenarios} passed; slowest ${s.slowest.id} ${(s.slowest.durationMs / 1000).toFixed(1)} s)`)
    .join(', ');
  add({
    figure: `full suite \`ekm run scenarios\`, LocalStack up, EKM_TIME_SCALE=${scale}, median of ${RUNS}`,
    value: Math.round(mSuite / 100) / 10,
    unit: 's',
    target: '< 25',
    pass: mSuite < 25_000,
    note: each,
  });
  add({ figure: `slowest scenario over the ${RUNS} suite runs`, value: worst, unit: 'ms', target: '<= 5000', pass: worst <= 5000 });

  targets.push(...lines);
  return { startupMs: startup, oneScenarioMs: one.map((x) => Math.round(x)), suites, timeScale: Number(scale) };
}
