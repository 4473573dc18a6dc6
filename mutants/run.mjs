#!/usr/bin/env node
// `pnpm mutants`: measures the conformance suite by seeding one realistic provider or gateway
// bug at a time (mutants/catalogue/*.json) into a temporary copy of the repository and running
// the suite alone there (`ekm run scenarios`, from the copy's sources). A mutant is killed when
// the suite fails and survives when it passes; the run ends with
// `mutants: K killed, S survived (of N)` and exits nonzero if any survived or did not apply.
// One LocalStack serves every copy: started here through `ekm-localstack run` unless
// LOCALSTACK_ENDPOINT names one already.
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMutant, closingLine, describeOutcome, exitCodeOf, loadCatalogue, parseArgs, select, verdictOf } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const catalogueDir = join(here, 'catalogue');

/** Temporary copies still on disk, and suite processes still running: removed and stopped on any exit. */
const copies = new Set();
const children = new Set();

function cleanUp() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  copies.clear();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stderr.write(`\nmutants: ${signal}, stopping the suites and removing the temporary copies\n`);
    cleanUp();
    process.exit(130);
  });
}
process.on('exit', cleanUp);

/** The files of the working tree as git sees them (tracked, and new files not ignored): others' edits in progress included. */
function workingTreeFiles() {
  const out = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`git ls-files failed: ${out.stderr}`);
  return [...new Set(out.stdout.split('\0').filter(Boolean))];
}

/**
 * A node_modules folder rebuilt in the copy: pnpm's relative links are recreated as they are
 * (so `@ekm/*` points into the copy, third-party packages through `.pnpm`), and everything
 * else (`.pnpm`, `.bin`, caches) is linked to the original, so nothing heavy is copied.
 */
function mirrorNodeModules(src, dst) {
  mkdirSync(dst, { recursive: true });
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, entry.name);
    const to = join(dst, entry.name);
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (entry.isDirectory() && entry.name.startsWith('@')) mirrorNodeModules(from, to);
    else symlinkSync(from, to);
  }
}

/** A copy of the repository in a new temporary folder: the working tree's files, node_modules linked. */
function copyRepository(id) {
  const dir = mkdtempSync(join(tmpdir(), `ekm-mutant-${id}-`));
  copies.add(dir);
  for (const file of workingTreeFiles()) {
    const from = join(root, file);
    let stat;
    try {
      stat = lstatSync(from);
    } catch {
      continue; // deleted in the working tree, not yet in the index
    }
    const to = join(dir, file);
    mkdirSync(dirname(to), { recursive: true });
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (stat.isFile()) copyFileSync(from, to);
  }
  const modules = ['node_modules'];
  for (const group of ['packages', 'apps']) {
    for (const pkg of readdirSync(join(root, group))) if (existsSync(join(root, group, pkg, 'node_modules'))) modules.push(join(group, pkg, 'node_modules'));
  }
  for (const m of modules) mirrorNodeModules(join(root, m), join(dir, m));
  return dir;
}

/** Runs the suite alone in `dir`; resolves with its exit code (null when stopped) and why it was stopped. */
function runSuite(dir, options, env) {
  const log = join(dir, 'mutant-suite.log');
  const out = join(dir, 'reports', 'mutant');
  const args = [join(dir, 'apps/cli/bin/ekm.mjs'), 'run', ...(options.paths ?? ['scenarios']), '--out', out];
  if (options.suiteConcurrency !== undefined) args.push('--concurrency', String(options.suiteConcurrency));
  return new Promise((resolve) => {
    // Its own process group, so a timeout or Ctrl-C stops the suite and everything it started.
    const child = spawn(process.execPath, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    let reason;
    const timer = setTimeout(() => {
      reason = `timed out after ${options.timeoutMinutes} min`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, options.timeoutMinutes * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      const text = Buffer.concat(chunks).toString('utf8');
      writeFileSync(log, text);
      let results;
      try {
        results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      } catch {
        results = undefined;
      }
      if (reason === undefined && code !== 0 && results === undefined) reason = `no results; last output: ${text.trim().split('\n').slice(-3).join(' | ')}`;
      resolve({ code, results, reason });
    });
  });
}

async function runOne(m, options, env, baselineFailed) {
  const started = performance.now();
  const source = readFileSync(join(root, m.file), 'utf8');
  const applied = applyMutant(source, m);
  if (!applied.ok) return { id: m.id, status: 'not-applied', reason: applied.reason };
  const dir = copyRepository(m.id);
  try {
    writeFileSync(join(dir, m.file), applied.text);
    const { code, results, reason } = await runSuite(dir, options, env);
    return { ...verdictOf(m.id, code, results, reason, baselineFailed), seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    copies.delete(dir);
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const catalogue = loadCatalogue(catalogueDir);
  const chosen = select(catalogue, options.ids);
  if (options.list) {
    for (const m of chosen) console.log(`${m.id.padEnd(48)} ${m.rule.padEnd(15)} ${m.description}`);
    return 0;
  }
  if (options.check) {
    // Anchors only, no LocalStack: which mutants still apply to the sources as they are now.
    const outcomes = chosen.map((m) => ({ m, a: applyMutant(readFileSync(join(root, m.file), 'utf8'), m) }));
    for (const { m, a } of outcomes) console.log(a.ok ? `applies     ${m.id}` : `NOT APPLIED ${a.reason}`);
    const bad = outcomes.filter((o) => !o.a.ok).length;
    console.log(`mutants: ${chosen.length - bad} of ${chosen.length} apply`);
    return bad === 0 ? 0 : 1;
  }
  if (process.env.LOCALSTACK_ENDPOINT === undefined) {
    // One LocalStack for the whole run: this script again, under `ekm-localstack run`, which sets LOCALSTACK_ENDPOINT.
    const bin = join(root, 'node_modules/.bin/ekm-localstack');
    const child = spawn(bin, ['run', '--', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
    return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  }
  const env = { ...process.env, EKM_FROM_SOURCES: '1' };
  // Freezing LocalStack (reliability/localstack-freeze.yaml) would stall the other copies' suites too:
  // with several at once it is left out (the suite reports it SKIP, failing nothing).
  if (options.concurrency > 1) delete env.EKM_LOCALSTACK_PID;
  const started = performance.now();
  const load = loadavg();
  console.log(
    `mutants: ${chosen.length} mutant(s), ${options.concurrency} at a time, LocalStack at ${process.env.LOCALSTACK_ENDPOINT}; ` +
      `${availableParallelism()} cores, load average ${load.map((l) => l.toFixed(2)).join(' ')}`,
  );
  let baselineFailed;
  if (options.baseline) {
    // The unmutated copy first: what fails without any mutant (others' edits in progress) kills nothing.
    const dir = copyRepository('baseline');
    try {
      const { code, results, reason } = await runSuite(dir, options, env);
      if (results === undefined) throw new Error(`the unmutated suite did not run: ${reason}`);
      baselineFailed = results.scenarios.filter((s) => s.status === 'failed').map((s) => s.id);
      console.log(`baseline (no mutant): exit ${code}; ${baselineFailed.length === 0 ? 'every scenario passed' : `failed: ${baselineFailed.join(', ')}`}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      copies.delete(dir);
    }
  }
  const outcomes = new Array(chosen.length);
  let next = 0;
  const worker = async () => {
    while (next < chosen.length) {
      const i = next++;
      const m = chosen[i];
      outcomes[i] = await runOne(m, options, env, baselineFailed);
      console.log(describeOutcome(outcomes[i], m));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, chosen.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  const after = loadavg();
  console.log(`\nrun time ${seconds.toFixed(0)} s; load average at the end ${after.map((l) => l.toFixed(2)).join(' ')}`);
  const survivors = outcomes.filter((o) => o.status === 'survived').map((o) => o.id);
  const stale = outcomes.filter((o) => o.status === 'not-applied').map((o) => o.id);
  if (survivors.length > 0) console.log(`survived: ${survivors.join(', ')}: each needs a scenario that kills it`);
  if (stale.length > 0) console.log(`did not apply: ${stale.join(', ')}: update their anchors to the sources as they are now`);
  console.log(closingLine(outcomes));
  return exitCodeOf(outcomes);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`mutants: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
