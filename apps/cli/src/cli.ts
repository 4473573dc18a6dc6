/**
 * The `ekm` command. Exit codes: 0 the gate passed (or the command succeeded),
 * 1 the gate failed / files are invalid / a merge was refused, 2 the command line is wrong.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import {
  ArgumentError,
  MergeError,
  RESULTS_FILE,
  createProgress,
  formatError,
  gate,
  grepPattern,
  loadScenarios,
  mergeResults,
  openWorld,
  parseResults,
  parseShard,
  ruleCatalogue,
  runSuite,
  writeReports,
  SecretScanner,
} from '@ekm/scenario-runner';
import { endpointUrl, localstackMode, parse, positiveInt, UsageError } from './args.ts';
import { DOCTOR_TENANT, doctor } from './doctor.ts';
import { gateway } from './gateway.ts';
import { explore } from './explore.ts';
import { chooseProvider, providerCommand } from './provider.ts';
import type { Executor, ProgressStream, Results, CatalogueRule, Shard, World, WorldOptions } from '@ekm/scenario-runner';

export interface Io {
  readonly stdout: ProgressStream;
  readonly stderr: { write(text: string): unknown };
  readonly cwd: string;
  readonly signal?: AbortSignal;
  /** Tests replace the catalogue and the world; the command uses @ekm/domain and `openWorld`. */
  readonly rules?: readonly CatalogueRule[];
  readonly openWorld?: (options: WorldOptions) => Promise<World>;
}

export const DEFAULT_OUT = 'reports/conformance';
export const DEFAULT_PATHS = ['scenarios'];

const USAGE = `usage: ekm <command> [options]

commands:
  run [paths..]             run scenarios (default: scenarios/) and gate on the rule catalogue
      --grep <regex>          only scenarios whose id, title, rules, tags or file match
      --shard <i/n>           run the i-th of n deterministic shards
      --concurrency <n>       scenarios at once (default: number of cores)
      --localstack <mode>     auto | host | docker | external (default: auto)
      --endpoint <url>        use this LocalStack endpoint
      --out <dir>             reports directory (default: ${DEFAULT_OUT})
      --provider <url>        the provider under test, over ekm.provider/v1 HTTP (default: the reference provider in process)
      --provider-module <p>   the provider under test, a module exporting an ekm.provider/v1 binding
  rules [--json] [--out dir]  the rule catalogue, with coverage from the last run
  validate [paths..]          check scenario files against the schema, run nothing
  report merge <dirs..>       merge shard reports into one [--out dir]
  doctor --key-arn <arn>      pre-flight check of a key before enabling EKM; exit 0 when every check passes
      --endpoint <url>        a KMS endpoint (the gateway, or AWS); without it only the identifier is checked
      --account <id>          the provider's 12-digit account, which calls KMS (needed with --endpoint)
      --region <r>            the Region the provider stores data in (default: the key's)
      --tenant <t>            the tenant named in the encryption context (default: ${DOCTOR_TENANT})
      --json                  machine-readable output
  gateway                     serve an AWS-faithful KMS (key policies and grants enforced) until Ctrl-C
      --port <n>              port on 127.0.0.1 (default: a free one)
      --localstack <mode>     auto | host | docker | external (default: auto)
      --endpoint <url>        use this LocalStack endpoint
      --audit-file <f>        append every KMS call as a CloudTrail-shaped JSON line
  explore                     random sequences over every actor, run against the model; a disagreement is shrunk
      --runs <n>              sequences (default: 50)
      --seed <s>              replay a search
      --max-commands <k>      longest sequence (default: 16)
      --out <dir>             where a counterexample is written (default: scenarios/regressions)
      --path <p>              replay one counterexample by its fast-check path
      --localstack, --endpoint  as for run
  provider serve              serve the reference provider over ekm.provider/v1 HTTP until Ctrl-C
      --port <n>              port on 127.0.0.1 (default: a free one)
  help                        this text
`;


export async function cli(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await run(rest, io);
      case 'rules':
        return await rules(rest, io);
      case 'validate':
        return await validate(rest, io);
      case 'report':
        return await report(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return 0;
      case undefined:
        io.stderr.write(USAGE);
        return 2;
      case 'doctor':
        return await doctor(rest, io);
      case 'gateway':
        return await gateway(rest, io);
      case 'explore':
        return await explore(rest, io);
      case 'provider':
        return await providerCommand(rest, io);
      default:
        io.stderr.write(`ekm: unknown command "${command}"\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ArgumentError || isParseArgsError(err)) {
      io.stderr.write(`ekm ${command}: ${usageMessage(err)}\nrun "ekm help" for usage\n`);
      return 2;
    }
    if (err instanceof MergeError) {
      io.stderr.write(`ekm report merge: ${err.message}\n`);
      return 1;
    }
    // Anything else is a bug or the environment; say it in one line, no stack trace.
    io.stderr.write(`ekm ${command ?? ''}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    return 1;
  }
}

function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

function usageMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // node:util phrases these for its own audience ("To specify a positional argument ..."); keep the first sentence.
  return message.split('. To ')[0]!.replace(/^Unknown option/, 'unknown option').replace(/^Option/, 'option');
}


function catalogue(io: Io): CatalogueRule[] {
  const rules = io.rules ?? ruleCatalogue();
  if (rules === undefined || rules.length === 0) {
    throw new Error('the rule catalogue (RULES in @ekm/domain) is not available: nothing to gate on');
  }
  return [...rules];
}




const resolveIn = (cwd: string, p: string): string => (isAbsolute(p) ? p : join(cwd, p));
const shown = (cwd: string, p: string): string => relative(cwd, p) || '.';

async function run(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    grep: { type: 'string' },
    shard: { type: 'string' },
    concurrency: { type: 'string' },
    localstack: { type: 'string', default: 'auto' },
    endpoint: { type: 'string' },
    out: { type: 'string', default: DEFAULT_OUT },
    provider: { type: 'string' },
    'provider-module': { type: 'string' },
  });
  const shard: Shard | undefined = values.shard === undefined ? undefined : parseShard(values.shard);
  const concurrency = values.concurrency === undefined ? availableParallelism() : positiveInt('concurrency', values.concurrency);
  const mode = localstackMode(values.localstack);
  const endpoint = values.endpoint === undefined ? undefined : endpointUrl(values.endpoint);
  if (mode === 'external' && endpoint === undefined) throw new ArgumentError('--localstack external: expected --endpoint <url> too, found none');
  if (values.grep !== undefined) grepPattern(values.grep);
  const rules = catalogue(io);
  const out = resolveIn(io.cwd, values.out);
  const paths = positionals.length > 0 ? positionals : DEFAULT_PATHS;

  const chosen = await chooseProvider(values, io.cwd);
  await mkdir(out, { recursive: true });
  // Every run scans what it wrote for the keys it handled: a release gate must not leak what it protects.
  const secrets = new SecretScanner();
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
  try {
    const executor: Executor = world.executor;
    const outcome = await runSuite({
      paths,
      executor,
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
    for (const e of outcome.errors) io.stderr.write(`${formatError(e)}\n`);
  } finally {
    await world.close();
  }
  results = { ...results, secretScan: secrets.summary() };
  await writeReports(results, out);
  // The reports cannot hold their own scan: they are searched last, and a finding there still fails the run.
  for (const name of REPORT_FILES) secrets.scanFile(join(out, name), name);
  return verdict({ ...results, secretScan: secrets.summary() }, io, out);
}

const AUDIT_FILE = 'kms-audit.jsonl';
const REPORT_FILES = [RESULTS_FILE, 'junit.xml', 'index.html'];

function verdict(results: Results, io: Io, out: string): number {
  const s = results.summary;
  for (const [fault, t] of Object.entries(results.reliability ?? {})) {
    io.stdout.write(`under ${fault}: ${t.attempted} workflow(s), ${t.succeeded} succeeded, ${t.failedCleanly} failed cleanly, ${t.failedBadly} failed otherwise, ${t.lost} lost\n`);
  }
  if (results.secretScan !== undefined) {
    const x = results.secretScan;
    io.stdout.write(`secret scan: ${x.keys} key(s) looked for in ${x.places} object(s) and file(s), ${(x.bytes / 1048576).toFixed(1)} MiB: ${x.findings.length === 0 ? 'none found' : `${x.findings.length} FOUND`}\n`);
  }
  const passedRules = results.rules.filter((r) => r.status === 'passed').length;
  if (results.provider !== undefined) {
    const p = results.provider;
    io.stdout.write(`provider under test: ${p.name} ${p.version} (${p.protocol}, ${p.binding}${p.location === undefined ? '' : ` ${p.location}`}); capabilities: ${p.capabilities.join(', ') || 'none'}\n`);
  }
  io.stdout.write(
    `${s.scenarios} scenario(s): ${s.passed} passed, ${s.failed} failed${(s.skipped ?? 0) > 0 ? `, ${s.skipped} skipped (cannot run here; see their reason)` : ''}${(s.notApplicable ?? 0) > 0 ? `, ${s.notApplicable} not applicable (the provider lacks a capability)` : ''}${s.invalidFiles > 0 ? `, ${s.invalidFiles} invalid file(s)` : ''}; ` +
      `rules: ${passedRules}/${results.rules.length} passed; ${s.durationMs} ms\n` +
      `reports: ${shown(io.cwd, join(out, RESULTS_FILE))}, junit.xml, index.html\n`,
  );
  const g = gate(results);
  if (results.shard !== undefined || results.grep !== undefined) {
    io.stdout.write('partial run (shard or --grep): rule coverage is gated when the shards are merged or the full suite runs\n');
  }
  // The last line, alone, in the plain form CI systems read as a test count.
  const skips = (s.skipped ?? 0) + (s.notApplicable ?? 0);
  const closing = `conformance: ${s.passed} passed, ${s.failed + s.invalidFiles} failed${skips > 0 ? `, ${skips} skipped` : ''}\n`;
  if (g.ok) {
    io.stdout.write(`gate: passed\n${closing}`);
    return 0;
  }
  io.stderr.write(`gate: failed\n${g.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
  io.stdout.write(closing);
  return 1;
}

async function readResults(path: string, display: string): Promise<Results> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new MergeError(`${display}: expected a results.json, found nothing readable`);
  }
  return parseResults(text, display);
}

async function rules(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean', default: false }, out: { type: 'string', default: DEFAULT_OUT } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const path = join(resolveIn(io.cwd, values.out), RESULTS_FILE);
  let last: Results | undefined;
  try {
    last = parseResults(await readFile(path, 'utf8'), shown(io.cwd, path));
  } catch (err) {
    if (err instanceof MergeError) throw err;
    last = undefined; // no run yet: every rule is "not run"
  }
  const list = io.rules ?? ruleCatalogue() ?? last?.rules.map(({ id, title, kind, quote }) => ({ id, title, kind, quote }));
  if (list === undefined) throw new Error('the rule catalogue (RULES in @ekm/domain) is not available');
  const rows = list.map((r) => {
    const seen = last?.rules.find((x) => x.id === r.id);
    return { ...r, status: seen?.status ?? ('not run' as const), scenarios: seen?.scenarios ?? [] };
  });
  if (values.json) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  for (const r of rows) {
    io.stdout.write(`${r.id}  ${r.status.padEnd(9)} ${r.kind.padEnd(10)} ${r.title}${r.scenarios.length > 0 ? ` (${r.scenarios.length} scenario(s))` : ''}\n`);
  }
  io.stdout.write(last === undefined ? `no results at ${shown(io.cwd, path)}: run "ekm run" first\n` : `coverage from ${shown(io.cwd, path)}\n`);
  return 0;
}

async function validate(args: readonly string[], io: Io): Promise<number> {
  const { positionals } = parse(args, {});
  const paths = positionals.length > 0 ? positionals : DEFAULT_PATHS;
  const ruleIds = (io.rules ?? ruleCatalogue())?.map((r) => r.id);
  const loaded = await loadScenarios(paths, { cwd: io.cwd, ...(ruleIds === undefined ? {} : { ruleIds }) });
  for (const e of loaded.errors) io.stderr.write(`${formatError(e)}\n`);
  if (loaded.errors.length > 0) {
    io.stderr.write(`${loaded.errors.length} error(s) in ${new Set(loaded.errors.map((e) => e.file)).size} file(s)\n`);
    return 1;
  }
  if (loaded.files.length === 0) {
    io.stderr.write(`expected scenario files (.yaml) under ${paths.join(', ')}, found none\n`);
    return 1;
  }
  io.stdout.write(`${loaded.scenarios.length} scenario(s) in ${loaded.files.length} file(s): valid\n`);
  return 0;
}

async function report(args: readonly string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'merge') throw new UsageError(sub === undefined ? 'expected "report merge <dirs..>"' : `unknown report command "${sub}"`);
  const { values, positionals } = parse(rest, { out: { type: 'string', default: DEFAULT_OUT } });
  if (positionals.length === 0) throw new UsageError('report merge: expected one or more report directories, found none');
  const parts: Results[] = [];
  for (const dir of positionals) {
    const full = resolveIn(io.cwd, dir);
    const path = full.endsWith('.json') ? full : join(full, RESULTS_FILE);
    parts.push(await readResults(path, shown(io.cwd, path)));
  }
  const merged = mergeResults(parts);
  const out = resolveIn(io.cwd, values.out);
  await writeReports(merged, out);
  io.stdout.write(`merged ${parts.length} report(s)\n`);
  return verdict(merged, io, out);
}
