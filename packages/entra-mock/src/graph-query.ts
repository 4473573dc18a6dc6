import { DirectoryRefusal } from './directory.ts';
import { SCHEMAS, canonical } from './graph-schema.ts';
import { ENTITY_KINDS } from './model.ts';
import type { EntityKind } from './model.ts';

/**
 * OData query options as Graph v1.0 reads them on directory objects (/graph/query-parameters,
 * /graph/aad-advanced-queries): `$filter` with eq, ne, not, startsWith, endsWith, in, any and
 * and/or; `$orderby`; `$count`; `$top`; `$select`; one `$expand`. What Graph serves only as an
 * advanced query (ne, not, endsWith, `$count`, `$orderby` with `$filter`) needs
 * `ConsistencyLevel: eventual` and `$count=true`, as there.
 */
export interface Query {
  readonly select: readonly string[] | undefined;
  readonly filter: ((o: Record<string, unknown>) => boolean) | undefined;
  readonly orderby: { readonly property: string; readonly desc: boolean } | undefined;
  readonly count: boolean;
  readonly top: number | undefined;
  /** One navigation property, with its own `$select` (e.g. `manager($select=id)`). */
  readonly expand: { readonly relation: string; readonly select: readonly string[] | undefined } | undefined;
}

export const bad = (message: string, code = 'Request_BadRequest'): DirectoryRefusal => new DirectoryRefusal(400, code, message);
export const notImplemented = (message: string): DirectoryRefusal => new DirectoryRefusal(501, 'NotImplemented', message);

const KNOWN = new Set(['$select', '$filter', '$orderby', '$count', '$top', '$expand', '$skip', '$skiptoken', '$search', '$format', '$deltatoken']);

/** Reads the query options of `url` for a collection or object of `kind`. */
export function readQuery(url: URL, kind: EntityKind | undefined, advanced: boolean, collection: boolean): Query {
  const params = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    const key = k.toLowerCase();
    if (key.startsWith('$') && !KNOWN.has(key)) throw bad(`Query option '${k}' is not allowed. Make sure that it is supported by the service.`, 'BadRequest');
    params.set(key, v);
  }
  // Graph refuses $skip on directory objects (user-list.md: "$skip isn't supported").
  if (params.has('$skip')) throw bad("'$skip' is not supported by the service.");
  if (params.has('$search')) throw notImplemented('$search is not modelled by the mock tenant (entra-mock README).');
  const count = params.get('$count')?.toLowerCase() === 'true';
  if (count && !advanced) throw bad('$count is not currently supported.');
  const select = params.has('$select') ? readSelect(kind, params.get('$select')!, collection) : undefined;
  const filterText = params.get('$filter');
  const filter = filterText === undefined ? undefined : parseFilter(filterText, kind ?? 'user', advanced);
  const orderby = params.has('$orderby') ? readOrderby(kind ?? 'user', params.get('$orderby')!, advanced, filter !== undefined) : undefined;
  const topText = params.get('$top');
  let top: number | undefined;
  if (topText !== undefined) {
    top = Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > 999) throw bad(`Invalid page size specified: '${topText}'. Must be between 1 and 999 inclusive.`);
  }
  const expand = params.has('$expand') ? readExpand(params.get('$expand')!) : undefined;
  return { select, filter, orderby, count, top, expand };
}

function readSelect(kind: EntityKind | undefined, text: string, collection: boolean): string[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return names.map((name) => {
    // A list of directory objects of mixed types: a property of any of them.
    const property = kind === undefined ? ENTITY_KINDS.map((k) => canonical(k, name)).find((p) => p !== undefined) : canonical(kind, name);
    if (property === undefined) throw bad(`Parsing OData Select and Expand failed: Could not find a property named '${name}' on type 'microsoft.graph.${kind ?? 'directoryObject'}'.`, 'BadRequest');
    // user-list.md: properties only a single user can return answer 501 in a list.
    if (collection && kind !== undefined && SCHEMAS[kind].singleOnly.includes(property)) throw notImplemented(`The '${property}' property cannot be returned within a ${kind} collection.`);
    return property;
  });
}

function readOrderby(kind: EntityKind, text: string, advanced: boolean, filtered: boolean): Query['orderby'] {
  const [name = '', direction = 'asc', ...rest] = text.trim().split(/\s+/);
  const property = canonical(kind, name);
  if (property === undefined || rest.length > 0 || !/^(asc|desc)$/i.test(direction)) throw bad(`Invalid $orderby: '${text}'.`);
  // aad-advanced-queries: $orderby together with $filter is an advanced query.
  if (filtered && !advanced) throw bad('Sorting not supported for current query.', 'Request_UnsupportedQuery');
  return { property, desc: direction.toLowerCase() === 'desc' };
}

function readExpand(text: string): Query['expand'] {
  const parts = text.split(/,(?![^(]*\))/);
  if (parts.length > 1) throw bad('Only one property can be expanded per request on directory objects.', 'Request_BadRequest');
  const m = parts[0]!.trim().match(/^(\w+)(?:\(\$select=([\w,]+)\))?$/);
  if (!m) throw bad(`Parsing OData Select and Expand failed: '${text}'.`, 'BadRequest');
  return { relation: m[1]!, select: m[2]?.split(',') };
}

type Token = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: 'p'; v: string };

function tokens(text: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:'((?:[^']|'')*)'|([(),:/])|([^\s(),:/']+))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw bad(`Invalid filter clause: syntax error at position ${at} in '${text}'.`, 'BadRequest');
    at = re.lastIndex;
    if (m[1] !== undefined) out.push({ t: 'str', v: m[1].replace(/''/g, "'") });
    else if (m[2] !== undefined) out.push({ t: 'p', v: m[2] });
    else out.push({ t: 'word', v: m[3]! });
  }
  return out;
}

type Pred = (o: Record<string, unknown>) => boolean;

const lower = (v: unknown): unknown => (typeof v === 'string' ? v.toLowerCase() : v);

/** `$filter` as a predicate; string comparisons ignore case, as Entra's do. */
export function parseFilter(text: string, kind: EntityKind, advanced: boolean): Pred {
  const ts = tokens(text);
  let i = 0;
  const peek = () => ts[i];
  const word = (w: string) => peek()?.t === 'word' && peek()!.v.toLowerCase() === w;
  const expectP = (p: string) => {
    const t = ts[i++];
    if (t?.t !== 'p' || t.v !== p) throw bad(`Invalid filter clause: '${p}' expected in '${text}'.`, 'BadRequest');
  };
  const property = (): string => {
    const t = ts[i++];
    const name = t?.t === 'word' ? canonical(kind, t.v) : undefined;
    if (name === undefined) throw bad(`Invalid filter clause: Could not find a property named '${t?.v ?? ''}' on type 'microsoft.graph.${kind}'.`, 'BadRequest');
    return name;
  };
  const literal = (): unknown => {
    const t = ts[i++];
    if (t?.t === 'str') return t.v;
    if (t?.t === 'word') {
      if (t.v === 'true') return true;
      if (t.v === 'false') return false;
      if (t.v === 'null') return null;
      if (/^-?\d+(\.\d+)?$/.test(t.v)) return Number(t.v);
      if (/^[0-9a-f-]{36}$/i.test(t.v) || /^\d{4}-\d\d-\d\dT/.test(t.v)) return t.v;
    }
    throw bad(`Invalid filter clause: a literal was expected in '${text}'.`, 'BadRequest');
  };
  const needAdvanced = (what: string, p: string) => {
    if (!advanced) throw bad(`Unsupported or invalid query filter clause specified for property '${p}' of resource '${SCHEMAS[kind].resource}'.`, 'Request_UnsupportedQuery');
    void what;
  };
  const primary = (): Pred => {
    if (peek()?.t === 'p' && peek()!.v === '(') {
      i++;
      const inner = or();
      expectP(')');
      return inner;
    }
    if (word('not')) {
      i++;
      const at = i;
      const inner = primary();
      needAdvanced('not', ts[at + 2]?.v ?? ts[at]?.v ?? '');
      return (o) => !inner(o);
    }
    if (word('startswith') || word('endswith')) {
      const fn = ts[i++]!.v.toLowerCase();
      expectP('(');
      const p = property();
      expectP(',');
      const v = literal();
      expectP(')');
      if (typeof v !== 'string') throw bad(`Invalid filter clause: ${fn} takes a string in '${text}'.`, 'BadRequest');
      if (fn === 'endswith') needAdvanced(fn, p);
      const want = v.toLowerCase();
      return (o) => typeof o[p] === 'string' && (fn === 'startswith' ? (o[p] as string).toLowerCase().startsWith(want) : (o[p] as string).toLowerCase().endsWith(want));
    }
    const p = property();
    if (peek()?.t === 'p' && peek()!.v === '/') {
      // A lambda on a collection: groupTypes/any(c:c eq 'Unified').
      i++;
      if (!word('any')) throw notImplemented(`Only any() lambdas are modelled in $filter ('${text}').`);
      i++;
      expectP('(');
      const variable = ts[i++]?.v;
      expectP(':');
      if (ts[i++]?.v !== variable) throw bad(`Invalid filter clause: lambda variable expected in '${text}'.`, 'BadRequest');
      if (!word('eq')) throw notImplemented(`Only eq inside any() is modelled in $filter ('${text}').`);
      i++;
      const v = lower(literal());
      expectP(')');
      return (o) => Array.isArray(o[p]) && (o[p] as unknown[]).some((x) => lower(x) === v);
    }
    if (word('in')) {
      i++;
      expectP('(');
      const values: unknown[] = [lower(literal())];
      while (peek()?.t === 'p' && peek()!.v === ',') {
        i++;
        values.push(lower(literal()));
      }
      expectP(')');
      return (o) => values.includes(lower(o[p] ?? null));
    }
    const op = ts[i++];
    const name = op?.t === 'word' ? op.v.toLowerCase() : '';
    if (!['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(name)) throw bad(`Invalid filter clause: unknown operator '${op?.v ?? ''}' in '${text}'.`, 'BadRequest');
    const v = lower(literal());
    if (name !== 'eq') needAdvanced(name, p);
    return (o) => {
      const have = lower(o[p] ?? null);
      if (name === 'eq') return have === v;
      if (name === 'ne') return have !== v;
      if (have === null || v === null) return false;
      const a = have as string | number;
      const b = v as string | number;
      return name === 'gt' ? a > b : name === 'ge' ? a >= b : name === 'lt' ? a < b : a <= b;
    };
  };
  const and = (): Pred => {
    let left = primary();
    while (word('and')) {
      i++;
      const l = left;
      const r = primary();
      left = (o) => l(o) && r(o);
    }
    return left;
  };
  const or = (): Pred => {
    let left = and();
    while (word('or')) {
      i++;
      const l = left;
      const r = and();
      left = (o) => l(o) || r(o);
    }
    return left;
  };
  const predicate = or();
  if (i < ts.length) throw bad(`Invalid filter clause: unexpected '${ts[i]!.v}' in '${text}'.`, 'BadRequest');
  return predicate;
}

/** Orders a list as `$orderby` asks; unset values sort first, as ascending nulls do in Graph. */
export function ordered<T extends object>(items: readonly T[], orderby: { property: string; desc: boolean; of?: (item: T) => object } | undefined): readonly T[] {
  if (orderby === undefined) return items;
  const of = orderby.of ?? ((item: T) => item);
  const key = (o: T) => lower((of(o) as Record<string, unknown>)[orderby.property] ?? '') as string;
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return orderby.desc ? sorted.reverse() : sorted;
}
