import { randomUUID } from 'node:crypto';
import { HttpResponse } from 'msw';
import { SCHEMAS } from './graph-schema.ts';
import { GRAPH_BASE } from './model.ts';
import type { EntityKind } from './model.ts';

/** Graph's error envelope (/graph/errors): `{"error": {"code", "message", "innerError": {date, request-id, client-request-id}}}`. */
export function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  const date = new Date().toISOString().replace(/\.\d{3}Z$/, '');
  const requestId = randomUUID();
  return HttpResponse.json(
    { error: { code, message, innerError: { date, 'request-id': requestId, 'client-request-id': headers['client-request-id'] ?? randomUUID() } } },
    { status, headers: { 'request-id': requestId, ...headers } },
  );
}

/** The `@odata.context` of a response, with the `$select` list in parentheses as Graph writes it. */
export function context(of: string, select: readonly string[] | undefined, entity = false): string {
  return `${GRAPH_BASE}/$metadata#${of}${select === undefined ? '' : `(${select.join(',')})`}${entity ? '/$entity' : ''}`;
}

/**
 * An object as Graph returns it: the selected properties (null when unset), or without
 * `$select` the type's default set (user-list.md) or every stored property. Write-only
 * properties (passwordProfile) are never returned.
 */
export function project(object: object, kind: EntityKind, select: readonly string[] | undefined, typed = false): Record<string, unknown> {
  const source = object as Record<string, unknown>;
  const schema = SCHEMAS[kind];
  const out: Record<string, unknown> = typed ? { '@odata.type': `#microsoft.graph.${kind}` } : {};
  const names = select ?? schema.defaults;
  if (names === undefined) {
    for (const [k, v] of Object.entries(source)) if (!schema.writeOnly.includes(k)) out[k] = structuredClone(v);
    return out;
  }
  for (const p of names) out[p] = schema.writeOnly.includes(p) ? null : structuredClone(source[p] ?? null);
  return out;
}

/** Offset paging behind an opaque `$skiptoken`, as Graph pages directory objects (100 by default, `$top` up to 999). */
export function page<T = Record<string, unknown>>(
  url: URL,
  ctx: string,
  items: readonly T[],
  options: { top?: number | undefined; count?: boolean; paged?: boolean; render?: (item: T) => Record<string, unknown> } = {},
): Response {
  const top = options.top ?? 100;
  const token = url.searchParams.get('$skiptoken');
  const offset = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString());
  if (!Number.isInteger(offset) || offset < 0) return graphError(400, 'Request_BadRequest', `Invalid $skiptoken '${token}'.`);
  const end = options.paged === false ? items.length : offset + top;
  const body: Record<string, unknown> = { '@odata.context': ctx };
  // graph-facts.md: @odata.count appears on the first page only.
  if (options.count === true && token === null) body['@odata.count'] = items.length;
  // Only the page's own items are rendered (projected, expanded): rendering the whole list for
  // every page made reading a large tenant quadratic (100,000 users: minutes instead of seconds).
  const slice = items.slice(offset, end);
  body['value'] = options.render === undefined ? slice : slice.map(options.render);
  if (end < items.length) body['@odata.nextLink'] = nextLink(url, { $skiptoken: Buffer.from(String(end)).toString('base64url') });
  return HttpResponse.json(body);
}

/** `url` with some query options replaced; Graph writes `$` and `,` literally. */
export function nextLink(url: URL, set: Record<string, string>, drop: readonly string[] = []): string {
  const query = [...url.searchParams].filter(([k]) => !(k in set) && !drop.includes(k)).map(([k, v]) => [k, v] as const);
  for (const [k, v] of Object.entries(set)) query.push([k, v]);
  return `${url.origin}${url.pathname}?${query.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ',').replace(/%24/g, '$')}`).join('&')}`;
}

export const noContent = (): Response => new HttpResponse(null, { status: 204 });
