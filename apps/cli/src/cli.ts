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
  closingLine,
  exitCode,
  withVerdict,
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
import { endpointUrl, localstackMode, positiveInt, UsageError } from './args.ts';
import { doctor } from './doctor.ts';
import { commandHelp, DEFAULT_OUT, isCommand, parseCommand, usage } from './commands.ts';
import { version } from './version.ts';
import { gateway } from './gateway.ts';
import { explore } from './explore.ts';
import { providerCommand } from './provider.ts';
import { defaultPaths, run } from './run.ts';
import { verify } from './verify.ts';
import type { Executor, ProgressStream, Results, CatalogueRule, Shard, World, WorldOptions } from '@ekm/scenario-runner';

export type CatalogueRuleSource = (io: Io) => CatalogueRule[];

export interface Io {
  readonly stdout: ProgressStream;
  readonly stderr: { write(text: string): unknown };
  readonly cwd: string;
  readonly signal?: AbortSignal;
  /** Tests replace the catalogue and the world; the command uses @ekm/domain and `openWorld`. */
  readonly rules?: readonly CatalogueRule[];
  readonly openWorld?: (options: WorldOptions) => Promise<World>;
}

export { DEFAULT_OUT } from './commands.ts';

export async function cli(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--version' || command === '-V' || command === 'version') {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    // `ekm <command> --help` before any parsing, so a command's own checks never hide its help.
    if (isCommand(command) && (rest.includes('--help') || rest.includes('-h'))) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    switch (command) {
      case 'run':
        return await run(rest, io, catalogue);
      case 'verify':
        return await verify(rest, io);
      case 'rules':
        return await rules(rest, io);
      case 'validate':
        return await validate(rest, io);
      case 'report':
        return await report(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(usage());
        return 0;
      case undefined:
        io.stderr.write(usage());
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
        io.stderr.write(`ekm: unknown command "${command}"\n${usage()}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ArgumentError || isParseArgsError(err)) {
      io.stderr.write(`ekm ${command}: ${usageMessage(err)}\nrun "ekm ${isCommand(command) ? `${command} ` : ''}--help" for usage\n`);
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
  const { values, positionals } = parseCommand('rules', args);
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
  const { positionals } = parseCommand('validate', args);
  const paths = positionals.length > 0 ? positionals : defaultPaths(io.cwd);
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
  const { values, positionals } = parseCommand('report', rest);
  if (positionals.length === 0) throw new UsageError('report merge: expected one or more report directories, found none');
  const parts: Results[] = [];
  for (const dir of positionals) {
    const full = resolveIn(io.cwd, dir);
    const path = full.endsWith('.json') ? full : join(full, RESULTS_FILE);
    parts.push(await readResults(path, shown(io.cwd, path)));
  }
  // A merge of shards is the whole suite again: gated on every rule, like a full run.
  const first = parts[0]!;
  const merged = withVerdict({
    ...mergeResults(parts),
    ...(first.selection === undefined ? {} : { selection: { ...first.selection, full: first.shard !== undefined && first.grep === undefined && first.selection.paths.length > 0 } }),
    ...(first.provider === undefined ? {} : { provider: first.provider }),
    ...(first.provenance === undefined ? {} : { provenance: first.provenance }),
  });
  const out = resolveIn(io.cwd, values.out);
  await writeReports(merged, out);
  io.stdout.write(`merged ${parts.length} report(s)\n`);
  const v = merged.verdict!;
  if (v.ok) io.stdout.write('gate: passed\n');
  else io.stderr.write(`gate: ${v.status}\n${v.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
  io.stdout.write(`${closingLine(merged)}\n`);
  return exitCode(merged);
}
