/**
 * `ekm run`: one run, one verdict. The verdict is computed once (`withVerdict`) and every
 * report shows it: results.json, junit.xml, index.html, the closing line and the exit code.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  ArgumentError,
  closingLine,
  createProgress,
  exitCode,
  formatError,
  grepPattern,
  openWorld,
  parseShard,
  RESULTS_FILE,
  runSuite,
  SecretScanner,
  withVerdict,
  writeReports,
  type Results,
  type Shard,
} from '@ekm/scenario-runner';
import { endpointUrl, localstackMode, positiveInt } from './args.ts';
import type { CatalogueRuleSource, Io } from './cli.ts';
import { parseCommand } from './commands.ts';
import { provenance } from './provenance.ts';
import { chooseProvider } from './provider.ts';

export { AUDIT_FILE } from '@ekm/scenario-runner';
import { AUDIT_FILE } from '@ekm/scenario-runner';
export const REPORT_FILES = [RESULTS_FILE, 'junit.xml', 'index.html'];

const shown = (cwd: string, p: string): string => relative(cwd, p) || '.';

/** The suite of the checkout the user stands in: the nearest `scenarios/` folder at or above `cwd`. */
export function defaultPaths(cwd: string): string[] {
  for (let dir = cwd; ; dir = dirname(dir)) {
    const candidate = join(dir, 'scenarios');
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return [relative(cwd, candidate) || '.'];
    if (dirname(dir) === dir) return ['scenarios'];
  }
}

/** The suite's time factor unless EKM_TIME_SCALE says otherwise. */
const SUITE_TIME_SCALE = 0.2;

export async function run(args: readonly string[], io: Io, catalogue: CatalogueRuleSource): Promise<number> {
  const startedAt = new Date();
  const { values, positionals } = parseCommand('run', args);
  const shard: Shard | undefined = values.shard === undefined ? undefined : parseShard(values.shard);
  const concurrency = values.concurrency === undefined ? availableParallelism() : positiveInt('concurrency', values.concurrency);
  const mode = localstackMode(values.localstack);
  const endpoint = values.endpoint === undefined ? undefined : endpointUrl(values.endpoint);
  if (mode === 'external' && endpoint === undefined) throw new ArgumentError('--localstack external: expected --endpoint <url> too, found none');
  if (values.grep !== undefined) grepPattern(values.grep);
  const rules = catalogue(io);
  const out = isAbsolute(values.out) ? values.out : join(io.cwd, values.out);
  const paths = positionals.length > 0 ? positionals : defaultPaths(io.cwd);
  // The whole suite: no path, or the suite's own folder (`ekm run scenarios`, the README's main job), unfiltered.
  const suite = resolve(io.cwd, defaultPaths(io.cwd)[0]!);
  const full = values.grep === undefined && shard === undefined && paths.every((p) => resolve(io.cwd, p) === suite);

  // Fault scenarios' timeouts and back-offs at a fifth of real time (the gateway's toxics and the
  // reference provider's KMS client read the same factor): a hang still outlasts the client's
  // timeout, at 2 s instead of 10. A machine too loaded for that sets EKM_TIME_SCALE=1.
  process.env['EKM_TIME_SCALE'] ??= String(SUITE_TIME_SCALE);
  // Every run scans what it wrote for the keys it handled: a release gate must not leak what it protects.
  const secrets = new SecretScanner();
  const chosen = await chooseProvider(values, io.cwd, (key, kind) => secrets.add(key, kind));
  await mkdir(out, { recursive: true });
  const auditFile = join(out, AUDIT_FILE);
  await rm(auditFile, { force: true });
  const world = await (io.openWorld ?? openWorld)({
    localstack: mode,
    secrets,
    auditFile,
    provider: chosen.binding,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(io.signal === undefined ? {} : { signal: io.signal }),
  });
  let results: Results;
  let files: readonly string[] = [];
  try {
    const outcome = await runSuite({
      paths,
      executor: world.executor,
      rules,
      transitions: world.transitions,
      concurrency,
      cwd: io.cwd,
      provider: chosen.described,
      progress: createProgress(io.stdout),
      ...(values.grep === undefined ? {} : { grep: values.grep }),
      ...(shard === undefined ? {} : { shard }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    results = outcome.results;
    files = outcome.files;
    for (const e of outcome.errors) io.stderr.write(`${formatError(e)}\n`);
  } finally {
    await world.close();
  }
  const signal = io.signal?.aborted === true ? String(io.signal.reason ?? 'SIGINT') : undefined;
  results = {
    ...results,
    selection: { paths, full, requireAllRules: values['require-all-rules'] },
    ...(signal === undefined ? {} : { interrupted: { signal: signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT' } }),
    provenance: await provenance({
      startedAt,
      files: files.filter((f) => existsSync(isAbsolute(f) ? f : join(io.cwd, f))),
      cwd: io.cwd,
      localstack: world.localstack,
    }),
    secretScan: secrets.summary(),
  };
  results = withVerdict(results);
  await writeReports(results, out);
  // The reports cannot hold their own scan: they are searched last. A finding there changes the
  // verdict, so the reports are written once more with it (the finding names the place, never the key).
  for (const name of REPORT_FILES) secrets.scanFile(join(out, name), name);
  if (secrets.summary().findings.length !== results.secretScan?.findings.length) {
    results = withVerdict({ ...results, secretScan: secrets.summary() });
    await writeReports(results, out);
  }
  return report(results, io, out);
}

function report(results: Results, io: Io, out: string): number {
  const s = results.summary;
  const v = results.verdict!;
  for (const [fault, t] of Object.entries(results.reliability ?? {})) {
    io.stdout.write(
      `under ${fault}: ${t.attempted} workflow(s), ${t.succeeded} succeeded, ${t.failedCleanly} failed cleanly, ${t.failedBadly} failed otherwise, ${t.lost} lost\n`,
    );
  }
  if (results.secretScan !== undefined) {
    const x = results.secretScan;
    io.stdout.write(
      `secret scan: ${x.keys} key(s) looked for in ${x.places} object(s) and file(s), ${(x.bytes / 1048576).toFixed(1)} MiB: ${x.findings.length === 0 ? 'none found' : `${x.findings.length} FOUND`}\n`,
    );
  }
  if (results.provider !== undefined) {
    const p = results.provider;
    io.stdout.write(
      `provider under test: ${p.name} ${p.version} (${p.protocol}, ${p.binding}${p.location === undefined ? '' : ` ${p.location}`}); capabilities: ${p.capabilities.join(', ') || 'none'}\n`,
    );
  }
  const slowest = [...results.scenarios].sort((a, b) => b.durationMs - a.durationMs).slice(0, 3);
  if (slowest.length > 0) io.stdout.write(`slowest: ${slowest.map((x) => `${x.id} ${(x.durationMs / 1000).toFixed(1)} s`).join(', ')}\n`);
  const passedRules = results.rules.filter((r) => r.status === 'passed').length;
  const extra = [
    (s.skipped ?? 0) > 0 ? `${s.skipped} skipped (cannot run here; see their reason)` : '',
    (s.notApplicable ?? 0) > 0 ? `${s.notApplicable} not applicable (the provider lacks a capability)` : '',
    (s.interrupted ?? 0) > 0 ? `${s.interrupted} interrupted or not run` : '',
    s.invalidFiles > 0 ? `${s.invalidFiles} invalid file(s)` : '',
  ].filter(Boolean);
  io.stdout.write(
    `${s.scenarios} scenario(s): ${s.passed} passed, ${s.failed} failed${extra.map((e) => `, ${e}`).join('')}; rules: ${passedRules}/${results.rules.length} passed; ${s.durationMs} ms\n` +
      `reports: ${shown(io.cwd, join(out, RESULTS_FILE))}, junit.xml, index.html\n`,
  );
  if (v.scope === 'partial') io.stdout.write('subset run (paths, --grep or --shard): not gated on covering every rule (add --require-all-rules to be)\n');
  if (v.ok) io.stdout.write('gate: passed\n');
  else io.stderr.write(`gate: ${v.status}\n${v.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
  io.stdout.write(`${closingLine(results)}\n`);
  return exitCode(results);
}
