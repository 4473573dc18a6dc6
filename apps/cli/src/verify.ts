/**
 * `ekm verify <results dir> [scenario paths..]`: checks a results bundle the way a release
 * attaches it (in the manner of Kubernetes conformance submissions): every file there, none
 * changed since the run wrote it, the verdict recomputed from the results and equal to the
 * recorded one in every report, and, given the scenario paths, the scenarios it ran unchanged.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { closingLine, findScenarioFiles, parseResults, RESULTS_FILE, SUMS_FILE, withVerdict, type Results } from '@ekm/scenario-runner';
import type { Io } from './cli.ts';
import { parseCommand } from './commands.ts';
import { hashFiles } from './provenance.ts';
import { UsageError } from './args.ts';

const REQUIRED = [RESULTS_FILE, 'junit.xml', 'index.html', SUMS_FILE];

export async function verify(args: readonly string[], io: Io): Promise<number> {
  const { positionals } = parseCommand('verify', args);
  const [dirArg, ...scenarioPaths] = positionals;
  if (dirArg === undefined) throw new UsageError('verify: expected a results directory, found none');
  const dir = isAbsolute(dirArg) ? dirArg : join(io.cwd, dirArg);
  const problems: string[] = [];
  const ok: string[] = [];
  const files = new Map<string, Buffer>();
  for (const name of REQUIRED) {
    const body = await readFile(join(dir, name)).catch(() => undefined);
    if (body === undefined) problems.push(`${name} is missing`);
    else files.set(name, body);
  }
  if (problems.length === 0) ok.push('complete: results.json, junit.xml, index.html, SHA256SUMS');

  const sums = files.get(SUMS_FILE)?.toString('utf8') ?? '';
  for (const line of sums.split('\n').filter(Boolean)) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (m === null) {
      problems.push(`SHA256SUMS: unreadable line "${line.slice(0, 80)}"`);
      continue;
    }
    const body = files.get(m[2]!) ?? (await readFile(join(dir, m[2]!)).catch(() => undefined));
    if (body === undefined) problems.push(`${m[2]} is listed in SHA256SUMS but missing`);
    else if (createHash('sha256').update(body).digest('hex') !== m[1])
      problems.push(`${m[2]} was changed after the run wrote it (its SHA-256 differs from SHA256SUMS)`);
  }
  if (sums !== '' && !problems.some((p) => p.includes('SHA256SUMS'))) ok.push('unmodified: every file matches SHA256SUMS');

  let results: Results | undefined;
  try {
    if (files.has(RESULTS_FILE)) results = parseResults(files.get(RESULTS_FILE)!.toString('utf8'), RESULTS_FILE);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  if (results !== undefined) {
    const recorded = results.verdict;
    const { verdict: _drop, ...bare } = results;
    const recomputed = withVerdict(bare as Results).verdict!;
    if (recorded === undefined) problems.push('results.json records no verdict');
    else if (recorded.status !== recomputed.status || JSON.stringify(recorded.reasons) !== JSON.stringify(recomputed.reasons)) {
      problems.push(
        `results.json records the verdict "${recorded.status}", but its results give "${recomputed.status}"${recomputed.reasons.length > 0 ? ` (${recomputed.reasons.slice(0, 3).join('; ')})` : ''}`,
      );
    } else ok.push(`verdict: ${recorded.status} (${recorded.scope}), recomputed from the results`);
    const junit = files.get('junit.xml')?.toString('utf8') ?? '';
    const failures = /<testsuites [^>]*failures="(\d+)"/.exec(junit)?.[1];
    const closing = closingLine(results);
    const counted = /(\d+) failed/.exec(closing)?.[1];
    if (failures !== counted) problems.push(`junit.xml counts ${failures ?? 'no'} failures, the results ${counted}`);
    const heading = /<h1[^>]*>([\s\S]*?)<\/h1>/.exec(files.get('index.html')?.toString('utf8') ?? '')?.[1]?.replace(/<[^>]+>/g, '') ?? '';
    if (recorded !== undefined && !heading.toLowerCase().includes(recorded.status))
      problems.push(`index.html's heading "${heading.trim()}" does not show the verdict "${recorded.status}"`);
    if (scenarioPaths.length > 0) {
      const p = results.provenance;
      if (p === undefined) problems.push('results.json records no provenance: cannot match the scenario files');
      else {
        const found = await findScenarioFiles(scenarioPaths, io.cwd);
        for (const e of found.errors) problems.push(`${e.file}: ${e.message}`);
        const now = await hashFiles(
          found.files.map((f) => f.display),
          io.cwd,
        );
        if (now.scenarioFilesSha256 === p.scenarioFilesSha256)
          ok.push(`scenarios: ${now.scenarioFiles.length} file(s) match the run (${p.scenarioFilesSha256.slice(0, 16)}…)`);
        else {
          const before = new Map(p.scenarioFiles.map((f) => [f.file, f.sha256]));
          const after = new Map(now.scenarioFiles.map((f) => [f.file, f.sha256]));
          const changed = [...after].filter(([f, h]) => before.has(f) && before.get(f) !== h).map(([f]) => f);
          const added = [...after.keys()].filter((f) => !before.has(f));
          const removed = [...before.keys()].filter((f) => !after.has(f));
          problems.push(
            `the scenario files differ from the run's: ${[changed.length > 0 ? `changed ${changed.join(', ')}` : '', added.length > 0 ? `not in the run ${added.join(', ')}` : '', removed.length > 0 ? `missing ${removed.join(', ')}` : ''].filter(Boolean).join('; ')}`,
          );
        }
      }
    }
  }
  for (const line of ok) io.stdout.write(`ok: ${line}\n`);
  for (const p of problems) io.stderr.write(`problem: ${p}\n`);
  io.stdout.write(problems.length === 0 ? 'verify: the bundle is complete, unmodified and consistent\n' : `verify: ${problems.length} problem(s)\n`);
  return problems.length === 0 ? 0 : 1;
}
