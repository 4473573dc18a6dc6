/**
 * Reads scenario files. Every problem, whatever the input, comes back as a
 * `file:line:column: expected ..., found ...` error; the loader never throws.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { ScenarioSchema } from './format.ts';
import type { Scenario } from './format.ts';
import { checkReferences } from './references.ts';
import { suggest, describe, quoteList } from './words.ts';

export interface LocatedError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export function formatError(e: LocatedError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}`;
}

export interface LoadedScenario {
  readonly scenario: Scenario;
  readonly file: string;
  /** Line of the scenario's document start, and of each step, for messages that point back at the file. */
  readonly line: number;
  readonly stepLines: readonly number[];
}

export interface LoadResult {
  readonly scenarios: readonly LoadedScenario[];
  readonly errors: readonly LocatedError[];
  readonly files: readonly string[];
}

export interface LoadOptions {
  /** Known rule ids; a scenario naming another id is an error. Leave out to accept any `EKM-nn`. */
  readonly ruleIds?: readonly string[];
}

/** Past this size a file is refused rather than parsed: no scenario needs it and it protects the run. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_ERRORS_PER_FILE = 50;
export const NO_SCENARIO = 'no scenario in this file (it is empty or holds only comments)';

type Path = readonly PropertyKey[];

/** Parses one file's text (one or several YAML documents, each one scenario). */
export function loadText(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const errors: LocatedError[] = [];
  const scenarios: LoadedScenario[] = [];
  const lines = new LineCounter();
  const at = (offset: number | undefined): { line: number; column: number } => {
    if (offset === undefined) return { line: 1, column: 1 };
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  try {
    if (text.length > MAX_FILE_BYTES) {
      return {
        scenarios,
        errors: [{ file, line: 1, column: 1, message: `expected a scenario file under ${MAX_FILE_BYTES} bytes, found ${text.length} characters` }],
        files: [file],
      };
    }
    const deep = tooDeep(text);
    if (deep !== undefined) {
      const before = text.slice(0, deep);
      const line = before.split('\n').length;
      const column = deep - before.lastIndexOf('\n');
      return {
        scenarios,
        errors: [{ file, line, column, message: `expected YAML nested at most ${MAX_DEPTH} levels deep, found nesting too deep to read` }],
        files: [file],
      };
    }
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
    const list = Array.isArray(docs) ? docs : [];
    for (const doc of list) {
      if (errors.length >= MAX_ERRORS_PER_FILE) break;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) errors.push({ file, ...at(e.pos[0]), message: yamlMessage(e.message) });
        continue;
      }
      if (isEmpty(doc)) continue; // an empty document, e.g. after a trailing `---`
      const located = loadDocument(doc, file, at, options);
      errors.push(...located.errors);
      if (located.scenario !== undefined) scenarios.push(located.scenario);
    }
  } catch (err) {
    // The YAML library and zod recurse; absurd nesting ends up here as a RangeError.
    errors.push({ file, line: 1, column: 1, message: unreadable(err) });
  }
  // An empty or comment-only file is almost always a mistake (a file emptied by a merge, a
  // scenario commented out): saying `valid` for it would hide a scenario that never runs.
  if (errors.length === 0 && scenarios.length === 0) errors.push({ file, line: 1, column: 1, message: NO_SCENARIO });
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return { scenarios, errors: errors.slice(0, MAX_ERRORS_PER_FILE), files: [file] };
}

/**
 * Nesting refused before parsing. The YAML parser recurses once per level; tens of thousands
 * of levels exhaust the stack, and V8 aborts the whole process (not a catchable RangeError)
 * when that happens while it compiles a regular expression: the "RegExpCompiler Allocation
 * failed" crash that failed about one CI run in seven. No scenario needs more than ~10 levels.
 */
export const MAX_DEPTH = 256;

/** The offset where nesting first passes MAX_DEPTH (open flow brackets, or a line's indentation plus compact `- ` entries), if it does. */
function tooDeep(text: string): number | undefined {
  let flow = 0;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 /* \n */) {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart) {
      if (c === 32 /* space */) {
        if (++indent > MAX_DEPTH) return i;
        continue;
      }
      if (c === 45 /* - */ && (text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 10 || i + 1 === text.length)) {
        if (++indent > MAX_DEPTH) return i;
        i++; // the space after the dash
        continue;
      }
      lineStart = false;
    }
    if (c === 35 /* # */ && (i === 0 || text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 10)) {
      const end = text.indexOf('\n', i);
      if (end === -1) break;
      i = end - 1;
      continue;
    }
    if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++flow > MAX_DEPTH) return i;
    } else if ((c === 93 /* ] */ || c === 125) /* } */ && flow > 0) flow--;
  }
  return undefined;
}

function isEmpty(doc: Document.Parsed): boolean {
  const c = doc.contents;
  return c === null || (isScalar(c) && c.value === null && c.range[0] === c.range[1]);
}

function unreadable(err: unknown): string {
  if (err instanceof RangeError) return 'expected YAML of reasonable depth and size, found nesting too deep to read';
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return `expected a readable YAML scenario file, found one the parser rejects (${why})`;
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  if (/call stack/i.test(first)) return 'expected YAML of reasonable depth, found nesting too deep to read';
  return `expected valid YAML, found a syntax error: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

function loadDocument(
  doc: Document.Parsed,
  file: string,
  at: (offset: number | undefined) => { line: number; column: number },
  options: LoadOptions,
): { scenario?: LoadedScenario; errors: LocatedError[] } {
  const complexKeys: LocatedError[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const node = pair.key as YamlNode;
        complexKeys.push({
          file,
          ...at(node.range?.[0]),
          message: `expected a plain field name, found ${isSeq(node) ? 'a list' : isMap(node) ? 'a mapping' : 'an alias'} as a key`,
        });
      }
    },
  });
  if (complexKeys.length > 0) return { errors: complexKeys };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const start = at(doc.contents?.range[0]);
    const message =
      err instanceof RangeError
        ? unreadable(err)
        : `expected plain YAML data, found ${/alias/i.test(String(err)) ? 'more alias expansions than a scenario needs (an alias bomb?)' : err instanceof Error ? err.message : String(err)}`;
    return { errors: [{ file, ...start, message }] };
  }
  const located = (path: Path, message: string, onKey = false): LocatedError => {
    const { node, keyNode } = locate(doc, path);
    const target = onKey && keyNode !== undefined ? keyNode : node;
    return { file, ...at(target?.range?.[0]), message };
  };
  const parsed = ScenarioSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const key = (path: Path): string => path.map(String).join('\u0000');
    const unknownAt = new Set<string>();
    const meant = new Set<string>();
    for (const i of issues) {
      if (i.code !== 'unrecognized_keys') continue;
      unknownAt.add(key(i.path));
      const allowed = keysAt(i.path);
      for (const k of i.keys) {
        const near = suggest(k, allowed);
        if (near !== undefined) meant.add(key([...i.path, near]));
      }
    }
    // A misspelt field is reported once, as "did you mean", not again as the missing field it was meant to be;
    // likewise a step whose only key is a misspelt action.
    const kept = issues.filter((i) => {
      if ((i as { input?: unknown }).input === undefined && meant.has(key(i.path))) return false;
      return !(i.code === 'custom' && (i.params as { kind?: string } | undefined)?.kind === 'noAction' && unknownAt.has(key(i.path)));
    });
    return { errors: kept.flatMap((issue) => issueErrors(issue, located)) };
  }
  const scenario = parsed.data;
  const errors = checkReferences(scenario, options).map(([path, message]) => located(path, message, false));
  const line = at(doc.contents?.range[0]).line;
  const stepLines = scenario.steps.map((_, i) => at(locate(doc, ['steps', i]).node?.range?.[0]).line);
  return errors.length > 0 ? { errors } : { scenario: { scenario, file, line, stepLines }, errors };
}

/** Walks the YAML tree along a zod path; stops at the deepest node that exists. */
function locate(doc: Document.Parsed, path: Path): { node?: YamlNode; keyNode?: YamlNode; complete: boolean } {
  let node: unknown = doc.contents;
  let keyNode: YamlNode | undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return { node: node as YamlNode, complete: false };
      keyNode = pair.key as YamlNode;
      // `key:` with nothing after it has no value node; point at the key instead.
      if (pair.value === null || pair.value === undefined) return { node: keyNode, keyNode, complete: true };
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      keyNode = undefined;
      node = node.items[seg];
    } else {
      return { node: node as YamlNode, complete: false };
    }
  }
  return { node: node as YamlNode, keyNode, complete: true };
}

type Locate = (path: Path, message: string, onKey?: boolean) => LocatedError;

function issueErrors(issue: z.core.$ZodIssue, located: Locate): LocatedError[] {
  const path = issue.path;
  const field = path.length > 0 ? String(path[path.length - 1]) : undefined;
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = keysAt(path);
      return issue.keys.map((key) => {
        const near = suggest(key, allowed);
        const hint = near !== undefined ? `; did you mean "${near}"?` : allowed.length <= 12 ? `; expected one of ${quoteList(allowed)}` : '';
        return located([...path, key], `unknown field "${key}"${hint}`, true);
      });
    }
    case 'invalid_type': {
      if (input === undefined && field !== undefined) {
        return [located(path, `expected field "${field}" (${article(issue.expected)}), found nothing`)];
      }
      return [located(path, `expected ${article(issue.expected)}${field !== undefined ? ` for "${field}"` : ''}, found ${describe(input)}`)];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      if (input === undefined && field !== undefined) {
        return [located(path, `expected field "${field}" (${values.length <= 14 ? quoteList(values) : valueFamily(path)}), found nothing`)];
      }
      const near = typeof input === 'string' ? suggest(input, values) : undefined;
      const expected = values.length <= 14 ? `one of ${quoteList(values)}` : valueFamily(path);
      return [located(path, `expected ${expected}, found ${describe(input)}${near !== undefined ? `; did you mean "${near}"?` : ''}`)];
    }
    case 'invalid_format':
      return [located(path, `expected ${issue.message}, found ${describe(input)}`)];
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      const what =
        issue.origin === 'array'
          ? `${word} ${String(bound)} item(s)`
          : issue.origin === 'string'
            ? `${word} ${String(bound)} character(s)`
            : `a number ${word} ${String(bound)}`;
      return [located(path, `expected ${what}, found ${describe(input)}`)];
    }
    case 'invalid_union': {
      const options = issue.errors.flat().flatMap((i) => (i.code === 'invalid_value' ? i.values.map(String) : []));
      const near = typeof input === 'string' ? suggest(input, options) : undefined;
      const expected = options.length === 0 ? 'a different value' : options.length <= 14 ? `one of ${quoteList(options)}` : valueFamily(path);
      const list =
        issue.errors.some((branch) => branch.some((i) => i.code === 'invalid_type' && i.expected === 'array')) && last(path) === 'outcome'
          ? ', or a list of them'
          : '';
      return [located(path, `expected ${expected}${list}, found ${describe(input)}${near !== undefined ? `; did you mean "${near}"?` : ''}`)];
    }
    case 'custom':
      // Custom issues are about a field as a whole (two actions, key and arn both given): point at its name.
      return [located(path, issue.message, true)];
    default:
      return [located(path, `expected ${issue.message.toLowerCase()}, found ${describe(input)}`)];
  }
}

function last(path: Path): string {
  return String(path[path.length - 1] ?? '');
}

function valueFamily(path: Path): string {
  const last = String(path[path.length - 1] ?? '');
  if (last === 'outcome' || last === 'result') return '"ok" or a failure code from FAILURES';
  if (last === 'op') return 'a KMS operation name';
  return 'one of the listed values';
}

function article(expected: string): string {
  if (expected === 'object') return 'a mapping';
  if (expected === 'array') return 'a list';
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Field names the schema allows at a path, for "did you mean". */
function keysAt(path: Path): string[] {
  let schema: unknown = ScenarioSchema;
  for (const seg of path) {
    schema = child(unwrap(schema), seg);
    if (schema === undefined) return [];
  }
  const s = unwrap(schema) as { _zod?: { def?: { type?: string; shape?: Record<string, unknown> } } } | undefined;
  return s?._zod?.def?.type === 'object' ? Object.keys(s._zod.def.shape ?? {}) : [];
}

interface Def {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
  options?: unknown[];
}
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;

function unwrap(schema: unknown): unknown {
  for (let i = 0; i < 20; i++) {
    const def = defOf(schema);
    if (def === undefined) return schema;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') schema = def.innerType;
    else if (def.type === 'pipe') schema = defOf(def.in)?.type === 'transform' ? def.out : def.in;
    else return schema;
  }
  return schema;
}

function child(schema: unknown, seg: PropertyKey): unknown {
  const def = defOf(schema);
  if (def?.type === 'object') return def.shape?.[String(seg)];
  if (def?.type === 'array') return def.element;
  if (def?.type === 'record') return def.valueType;
  if (def?.type === 'union') return def.options?.map((o) => child(unwrap(o), seg)).find((c) => c !== undefined);
  return undefined;
}

export interface FileSource {
  readonly path: string;
  readonly display: string;
}

/** Expands files and directories (recursively, `.yaml`/`.yml`, sorted) into scenario files. */
export async function findScenarioFiles(paths: readonly string[], cwd = process.cwd()): Promise<{ files: FileSource[]; errors: LocatedError[] }> {
  const files: FileSource[] = [];
  const errors: LocatedError[] = [];
  const display = (p: string): string => {
    const r = relative(cwd, p);
    return r === '' ? p : r;
  };
  const walk = async (p: string): Promise<void> => {
    const entries = (await readdir(p, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(p, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (/\.ya?ml$/.test(entry.name)) files.push({ path: full, display: display(full) });
    }
  };
  for (const p of paths) {
    const full = isAbsolute(p) ? p : join(cwd, p);
    try {
      const s = await stat(full);
      if (s.isDirectory()) await walk(full);
      else files.push({ path: full, display: display(full) });
    } catch (err) {
      errors.push({ file: p, line: 1, column: 1, message: `expected a scenario file or directory, found ${fsReason(err)}` });
    }
  }
  return { files, errors };
}

function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'nothing at this path';
  if (code === 'EACCES') return 'a path this user may not read';
  return err instanceof Error ? err.message : String(err);
}

/** Loads every scenario under the given paths; scenario ids must be unique across all files. */
export async function loadScenarios(paths: readonly string[], options: LoadOptions & { cwd?: string } = {}): Promise<LoadResult> {
  const found = await findScenarioFiles(paths, options.cwd);
  const errors: LocatedError[] = [...found.errors];
  const scenarios: LoadedScenario[] = [];
  for (const f of found.files) {
    let text: string;
    try {
      text = await readFile(f.path, 'utf8');
    } catch (err) {
      errors.push({ file: f.display, line: 1, column: 1, message: `expected a readable file, found ${fsReason(err)}` });
      continue;
    }
    const r = loadText(text, f.display, options);
    errors.push(...r.errors);
    scenarios.push(...r.scenarios);
  }
  const seen = new Map<string, LoadedScenario>();
  const unique: LoadedScenario[] = [];
  for (const s of scenarios) {
    const first = seen.get(s.scenario.id);
    if (first !== undefined) {
      errors.push({
        file: s.file,
        line: s.line,
        column: 1,
        message: `expected a unique scenario id, found "${s.scenario.id}" again (first at ${first.file}:${first.line})`,
      });
    } else {
      seen.set(s.scenario.id, s);
      unique.push(s);
    }
  }
  return { scenarios: unique, errors, files: found.files.map((f) => f.display) };
}
