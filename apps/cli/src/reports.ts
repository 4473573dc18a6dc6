/** `ekm rules`, `ekm validate`, `ekm report merge`: the commands that read scenario files and reports. */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import {
  MergeError,
  RESULTS_FILE,
  closingLine,
  exitCode,
  formatError,
  loadScenarios,
  mergeResults,
  parseResults,
  ruleCatalogue,
  withVerdict,
  writeReports,
  type CatalogueRule,
  type Results,
} from '@ekm/scenario-runner';
import { UsageError } from './args.ts';
import type { Io } from './cli.ts';
import { parseCommand } from './commands.ts';
import { defaultPaths } from './run.ts';

export function catalogue(io: Io): CatalogueRule[] {
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

export async function rules(args: readonly string[], io: Io): Promise<number> {
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

export async function validate(args: readonly string[], io: Io): Promise<number> {
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

export async function report(args: readonly string[], io: Io): Promise<number> {
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
    ...(first.selection === undefined
      ? {}
      : { selection: { ...first.selection, full: first.shard !== undefined && first.grep === undefined && first.selection.paths.length > 0 } }),
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
