// The pure parts of `pnpm mutants` (mutants/run.mjs): reading the catalogue, applying a mutant
// to a source text, arguments, verdicts and the closing line. No I/O here but `loadCatalogue`,
// so mutants/lib.test.mjs can test the rest without LocalStack.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The sources a mutant may patch: the reference provider, its KMS adapter and the KMS gateway. */
const MUTABLE_ROOTS = ['packages/backup/src/', 'packages/backup/conformance/', 'packages/kms/src/', 'packages/kms-gateway/src/'];

/** A rule of the catalogue (EKM-01..EKM-21) or a part of the gateway's authorisation. */
const RULE = /^(?:EKM-(?:0[1-9]|1\d|2[01])|gateway\.(?:policy|grants))$/;
const ID = /^[a-z0-9][a-z0-9-]*$/;

/**
 * @typedef {{ id: string, rule: string, description: string, file: string, search: string, replace: string }} Mutant
 * @typedef {{ ok: true, text: string } | { ok: false, reason: string }} Applied
 * @typedef {{ id: string, status: 'killed' | 'survived' | 'not-applied', failed?: string[], reason?: string, seconds?: number }} Outcome
 */

/**
 * Checks one catalogue entry; returns the problems (empty when it is well-formed).
 * @param {unknown} m
 * @param {string} [fileName] the file it came from: its name must be the id
 * @returns {string[]}
 */
export function problemsOf(m, fileName) {
  if (typeof m !== 'object' || m === null) return ['not a JSON object'];
  const x = /** @type {Record<string, unknown>} */ (m);
  const out = [];
  for (const field of ['id', 'rule', 'description', 'file', 'search', 'replace']) {
    if (typeof x[field] !== 'string') out.push(`${field} is missing or not a string`);
  }
  if (out.length > 0) return out;
  const { id, rule, description, file, search, replace } = /** @type {Mutant} */ (x);
  if (!ID.test(id)) out.push(`id ${JSON.stringify(id)} is not lower-case words joined by -`);
  if (fileName !== undefined && fileName !== `${id}.json`) out.push(`file ${fileName} must be named ${id}.json`);
  if (!RULE.test(rule)) out.push(`rule ${JSON.stringify(rule)} is not EKM-01..EKM-21, gateway.policy or gateway.grants`);
  if (description.trim() === '' || description.includes('\n')) out.push('description must be one non-empty line');
  if (!MUTABLE_ROOTS.some((root) => file.startsWith(root)) || file.includes('..')) out.push(`file ${file} is not under ${MUTABLE_ROOTS.join(', ')}`);
  if (search === '') out.push('search is empty');
  if (search === replace) out.push('search and replace are the same: nothing would change');
  return out;
}

/**
 * Reads every `*.json` of the catalogue folder, sorted by id; throws naming every malformed entry.
 * @param {string} dir
 * @returns {Mutant[]}
 */
export function loadCatalogue(dir) {
  const mutants = [];
  const problems = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    let m;
    try {
      m = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    } catch (error) {
      problems.push(`${name}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
      continue;
    }
    const found = problemsOf(m, name);
    if (found.length > 0) problems.push(...found.map((p) => `${name}: ${p}`));
    else mutants.push(/** @type {Mutant} */ (m));
  }
  if (problems.length > 0) throw new Error(`the mutant catalogue has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  return mutants.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** How often `needle` occurs in `text`, overlapping occurrences counted. */
export function occurrences(text, needle) {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) n++;
  return n;
}

/**
 * Applies a mutant to the text of its file. The anchor (`search`) must occur exactly once:
 * the sources change under the catalogue, and a mutant whose anchor moved must say so
 * instead of patching the wrong place or nothing.
 * @param {string} text
 * @param {Pick<Mutant, 'id' | 'file' | 'search' | 'replace'>} m
 * @returns {Applied}
 */
export function applyMutant(text, m) {
  const n = occurrences(text, m.search);
  if (n !== 1) {
    const first = m.search.split('\n')[0];
    return {
      ok: false,
      reason: `mutant ${m.id} does not apply: its anchor occurs ${n === 0 ? 'nowhere' : `${n} times`} in ${m.file} (expected exactly once): ${JSON.stringify(first.length > 100 ? `${first.slice(0, 100)}…` : first)}`,
    };
  }
  const at = text.indexOf(m.search);
  return { ok: true, text: text.slice(0, at) + m.replace + text.slice(at + m.search.length) };
}

/**
 * The catalogue entries a run takes: all, or the ids named (every one must exist).
 * @param {Mutant[]} catalogue
 * @param {string[]} ids
 */
export function select(catalogue, ids) {
  if (ids.length === 0) return catalogue;
  const unknown = ids.filter((id) => !catalogue.some((m) => m.id === id));
  if (unknown.length > 0) throw new Error(`no mutant with id ${unknown.join(', ')} (pnpm mutants --list shows them)`);
  return catalogue.filter((m) => ids.includes(m.id));
}

/**
 * `pnpm mutants [id...] [--concurrency n] [--suite-concurrency n] [--timeout minutes] [--baseline] [--list] [--check] [--paths p,...]`
 * @param {string[]} argv
 */
export function parseArgs(argv) {
  /** @type {{ ids: string[], concurrency: number, suiteConcurrency?: number, timeoutMinutes: number, baseline: boolean, list: boolean, check: boolean, paths?: string[] }} */
  const out = { ids: [], concurrency: 1, timeoutMinutes: 20, baseline: false, list: false, check: false };
  const positive = (name, value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, found ${JSON.stringify(value ?? '')}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--') continue;
    else if (flag === '--concurrency') out.concurrency = positive(flag, value());
    else if (flag === '--suite-concurrency') out.suiteConcurrency = positive(flag, value());
    else if (flag === '--timeout') out.timeoutMinutes = positive(flag, value());
    else if (flag === '--baseline') out.baseline = true;
    else if (flag === '--list') out.list = true;
    else if (flag === '--check') out.check = true;
    else if (flag === '--paths')
      out.paths = String(value() ?? '')
        .split(',')
        .filter(Boolean);
    else if (flag.startsWith('-')) throw new Error(`unknown option ${flag}`);
    else out.ids.push(a);
  }
  return out;
}

/**
 * A mutant's verdict from its suite run: killed when the suite failed, survived when it passed.
 * With a baseline (the unmutated copy's failed scenarios, e.g. while others' edits are half-done),
 * only scenarios that pass without the mutant can kill it.
 * @param {string} id
 * @param {number | null} exitCode the suite's exit code (null: killed by a signal or the timeout)
 * @param {{ scenarios?: { id: string, status: string }[] } | undefined} results results.json of the run, when written
 * @param {string} [reason] why the run ended otherwise (timeout, crash), for the report
 * @param {readonly string[]} [baselineFailed] scenarios that fail without any mutant
 * @returns {Outcome}
 */
export function verdictOf(id, exitCode, results, reason, baselineFailed) {
  const failed = (results?.scenarios ?? []).filter((s) => s.status === 'failed' && !(baselineFailed ?? []).includes(s.id)).map((s) => s.id);
  if (exitCode === 0) return { id, status: 'survived', failed };
  if (baselineFailed !== undefined && failed.length === 0 && reason === undefined) {
    return { id, status: 'survived', failed, reason: 'the suite fails only where it fails without the mutant' };
  }
  return { id, status: 'killed', failed, ...(reason === undefined ? {} : { reason }) };
}

/**
 * The line every run ends with. N counts every mutant the run selected, including those that did not apply.
 * @param {Outcome[]} outcomes
 */
export function closingLine(outcomes) {
  const killed = outcomes.filter((o) => o.status === 'killed').length;
  const survived = outcomes.filter((o) => o.status === 'survived').length;
  return `mutants: ${killed} killed, ${survived} survived (of ${outcomes.length})`;
}

/** Nonzero when a mutant survived or did not apply. */
export function exitCodeOf(outcomes) {
  return outcomes.every((o) => o.status === 'killed') ? 0 : 1;
}

/**
 * One line per mutant for the report.
 * @param {Outcome} o
 * @param {Pick<Mutant, 'rule'>} m
 */
export function describeOutcome(o, m) {
  const time = o.seconds === undefined ? '' : ` (${o.seconds.toFixed(0)} s)`;
  if (o.status === 'not-applied') return `NOT APPLIED ${o.id} [${m.rule}]: ${o.reason}`;
  if (o.status === 'survived') return `SURVIVED    ${o.id} [${m.rule}]${time}: ${o.reason ?? 'the whole suite passed'}`;
  const by = o.failed?.length ? `killed by ${o.failed.join(', ')}` : `suite failed without a failed scenario${o.reason ? ` (${o.reason})` : ''}`;
  return `killed      ${o.id} [${m.rule}]${time}: ${by}`;
}
