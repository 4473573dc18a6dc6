import { randomUUID } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import type { HttpHandler } from 'msw';
import { setupServer } from 'msw/node';
import type { SetupServer } from 'msw/node';
import { Directory, DirectoryRefusal } from './directory.ts';
import type { DirectoryState } from './directory.ts';
import { TenantFaults } from './faults.ts';
import { ENTITY_KINDS, GRAPH_BASE, KINDS, LOGIN_BASE, kindOfOdataType, odataType } from './model.ts';
import type { Entity, EntityKind, Relation } from './model.ts';

/** One mock tenant: its directory, the app registration the provider signs in with, and its faults. */
export interface MockTenant {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly directory: Directory;
  readonly faults: TenantFaults;
  /** Time for deletion stamps, creation dates and token expiry; scenarios pass their own clock. */
  readonly clock: () => Date;
}

export function createMockTenant(state: DirectoryState, options: { clientId?: string; clientSecret?: string; clock?: () => Date } = {}): MockTenant {
  return {
    tenantId: state.tenantId,
    clientId: options.clientId ?? randomUUID(),
    clientSecret: options.clientSecret ?? randomUUID(),
    directory: new Directory(state),
    faults: new TenantFaults(),
    clock: options.clock ?? (() => new Date()),
  };
}

/** Kinds whose Graph type has createdDateTime (devices and service principals do not). */
const CREATION_STAMPED: readonly EntityKind[] = ['user', 'group', 'application', 'conditionalAccessPolicy'];
const TOKEN_LIFETIME_SECONDS = 3599;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 999;

/** The tenants one MSW server answers for; Graph calls find their tenant by the bearer token. */
export class TenantRegistry {
  private readonly tenants = new Map<string, MockTenant>();
  private readonly tokens = new Map<string, { tenant: MockTenant; expires: number }>();

  add(tenant: MockTenant): void {
    this.tenants.set(tenant.tenantId, tenant);
  }

  remove(tenantId: string): void {
    this.tenants.delete(tenantId);
    for (const [token, t] of this.tokens) if (t.tenant.tenantId === tenantId) this.tokens.delete(token);
  }

  get(tenantId: string): MockTenant | undefined {
    return this.tenants.get(tenantId);
  }

  issue(tenant: MockTenant): string {
    const token = `mock.${randomUUID()}`;
    this.tokens.set(token, { tenant, expires: tenant.clock().getTime() + TOKEN_LIFETIME_SECONDS * 1000 });
    return token;
  }

  bearer(authorization: string | null): MockTenant | undefined {
    const token = authorization?.match(/^Bearer (\S+)$/)?.[1];
    const entry = token === undefined ? undefined : this.tokens.get(token);
    if (entry === undefined || !this.tenants.has(entry.tenant.tenantId)) return undefined;
    return entry.tenant.clock().getTime() < entry.expires ? entry.tenant : undefined;
  }
}

function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  const date = new Date().toISOString().replace(/\.\d{3}Z$/, '');
  return HttpResponse.json(
    { error: { code, message, innerError: { date, 'request-id': randomUUID(), 'client-request-id': randomUUID() } } },
    { status, headers },
  );
}

function project(object: object, select: readonly string[] | undefined, type?: string): Record<string, unknown> {
  const source = object as Record<string, unknown>;
  const out: Record<string, unknown> = type === undefined ? {} : { '@odata.type': type };
  if (select === undefined) return { ...out, ...source };
  out['id'] = source['id'];
  for (const p of select) out[p] = source[p] ?? null;
  return out;
}

/** A page of a collection with `@odata.nextLink` carrying an opaque offset, as Graph's `$skiptoken` does. */
function page(url: URL, context: string, items: readonly object[], select: readonly string[] | undefined, typeOf?: (o: object) => string, paged = true): Response {
  const topParam = url.searchParams.get('$top');
  const top = topParam === null ? DEFAULT_PAGE : Number(topParam);
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) {
    return graphError(400, 'Request_BadRequest', `Invalid page size specified: '${topParam}'. Must be between 1 and ${MAX_PAGE} inclusive.`);
  }
  const token = url.searchParams.get('$skiptoken');
  const offset = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString());
  const end = paged ? offset + top : items.length;
  const value = items.slice(offset, end).map((o) => project(o, select, typeOf?.(o)));
  const body: Record<string, unknown> = { '@odata.context': `${GRAPH_BASE}/$metadata#${context}${select === undefined ? '' : `(${select.join(',')})`}`, value };
  if (end < items.length) {
    // Graph writes `$` and `,` of its query options literally; URLSearchParams would escape them.
    const query = [...url.searchParams].filter(([k]) => k !== '$skiptoken').map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ',')}`);
    query.push(`$skiptoken=${Buffer.from(String(end)).toString('base64url')}`);
    body['@odata.nextLink'] = `${url.origin}${url.pathname}?${query.join('&')}`;
  }
  return HttpResponse.json(body);
}

/** Splits `/v1.0/...` into the kind's collection and the rest, e.g. `directory/administrativeUnits/{id}/members`. */
function route(path: string): { kind: EntityKind; rest: string[] } | undefined {
  for (const kind of ENTITY_KINDS) {
    const base = KINDS[kind].path;
    if (path === base) return { kind, rest: [] };
    if (path.startsWith(`${base}/`)) return { kind, rest: path.slice(base.length + 1).split('/') };
  }
  return undefined;
}

function refTarget(body: unknown): string | undefined {
  const ref = (body as Record<string, unknown> | null)?.['@odata.id'];
  return typeof ref === 'string' ? ref.split('/').pop() : undefined;
}

function readOnlyIn(kind: EntityKind, body: Record<string, unknown>): string | undefined {
  return Object.keys(body).find((k) => KINDS[kind].readOnly.includes(k));
}

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  const parsed: unknown = text === '' ? {} : JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DirectoryRefusal(400, 'Request_BadRequest', 'The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

async function serveGraph(tenant: MockTenant, request: Request, url: URL): Promise<Response> {
  const dir = tenant.directory;
  const path = url.pathname.replace(/^\/v1\.0\//, '').replace(/\/$/, '');
  const select = url.searchParams.get('$select')?.split(',').filter((s) => s !== '');
  const method = request.method;
  const typed = (o: object): string => odataType(dir.kindOf((o as { id: string }).id) ?? 'user');

  const deleted = path.match(/^directory\/deletedItems(?:\/(.+))?$/);
  if (deleted) {
    const [first, second] = (deleted[1] ?? '').split('/');
    const castKind = kindOfOdataType(first);
    if (method === 'GET' && castKind !== undefined && second === undefined) {
      const items = dir.deletedItems(castKind).map((d) => d.object);
      return page(url, `directory/deletedItems/microsoft.graph.${castKind}`, items, select);
    }
    if (method === 'GET' && first !== undefined && second === undefined) {
      const item = dir.deletedItems().find((d) => d.object.id === first);
      if (item === undefined) return graphError(404, 'Request_ResourceNotFound', `Resource '${first}' does not exist.`);
      return HttpResponse.json({ '@odata.context': `${GRAPH_BASE}/$metadata#directoryObjects/$entity`, ...project(item.object, select, odataType(item.kind)) });
    }
    if (method === 'POST' && first !== undefined && second === 'restore') {
      const restored = dir.restore(first);
      return HttpResponse.json({ '@odata.context': `${GRAPH_BASE}/$metadata#directoryObjects/$entity`, '@odata.type': odataType(restored.kind), ...restored.object });
    }
    if (method === 'DELETE' && first !== undefined && second === undefined) {
      dir.purge(first);
      return new HttpResponse(null, { status: 204 });
    }
    return graphError(400, 'Request_BadRequest', `Unsupported request ${method} /${path}.`);
  }

  const directoryObject = path.match(/^directoryObjects\/([^/]+)$/);
  if (directoryObject && method === 'GET') {
    const id = directoryObject[1]!;
    const kind = dir.kindOf(id);
    if (kind === undefined) return graphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist.`);
    return HttpResponse.json({ '@odata.context': `${GRAPH_BASE}/$metadata#directoryObjects/$entity`, ...project(dir.get(kind, id)!, select, odataType(kind)) });
  }

  const r = route(path);
  if (r === undefined) return graphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/')[0]}'.`);
  const { kind, rest } = r;
  const info = KINDS[kind];
  const [id, relation, third, fourth] = rest;

  if (id === undefined) {
    if (method === 'GET') return page(url, info.path, dir.list(kind), select, undefined, kind !== 'directoryRole');
    if (method === 'POST' && info.writable) {
      const body = await jsonBody(request);
      const refused = readOnlyIn(kind, body);
      if (refused !== undefined) return graphError(400, 'Request_BadRequest', `Property '${refused}' is read-only and cannot be set.`);
      const now = tenant.clock().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const extra: Record<string, unknown> = kind === 'conditionalAccessPolicy' ? { modifiedDateTime: now } : {};
      if (kind === 'application' || kind === 'device') extra[kind === 'application' ? 'appId' : 'deviceId'] = randomUUID();
      if (CREATION_STAMPED.includes(kind)) extra['createdDateTime'] = now;
      const object = dir.add(kind, { id: randomUUID(), ...body, ...extra } as Entity);
      return HttpResponse.json({ '@odata.context': `${GRAPH_BASE}/$metadata#${info.path}/$entity`, ...object }, { status: 201 });
    }
    return graphError(405, 'Request_BadRequest', `${method} is not allowed on /${path}.`);
  }

  if (relation === undefined) {
    if (dir.get(kind, id) === undefined) return graphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    if (method === 'GET') return HttpResponse.json({ '@odata.context': `${GRAPH_BASE}/$metadata#${info.path}/$entity`, ...project(dir.get(kind, id)!, select) });
    if (method === 'PATCH') {
      const body = await jsonBody(request);
      const refused = readOnlyIn(kind, body);
      if (refused !== undefined) return graphError(400, 'Request_BadRequest', `Property '${refused}' is read-only and cannot be set.`);
      dir.update(kind, id, body);
      return new HttpResponse(null, { status: 204 });
    }
    if (method === 'DELETE' && info.writable) {
      dir.remove(kind, id, tenant.clock());
      return new HttpResponse(null, { status: 204 });
    }
    return graphError(405, 'Request_BadRequest', `${method} is not allowed on /${path}.`);
  }

  if (!(info.relations as readonly string[]).includes(relation)) return graphError(400, 'BadRequest', `Resource not found for the segment '${relation}'.`);
  const rel = relation as Relation;
  if (third === undefined && method === 'GET') {
    const targets = dir.members(kind, id, rel).map((t) => dir.get(dir.kindOf(t)!, t)!);
    return page(url, 'directoryObjects', targets, select, typed);
  }
  if (third === '$ref' && fourth === undefined && method === 'POST') {
    const target = refTarget(await jsonBody(request));
    if (target === undefined) return graphError(400, 'Request_BadRequest', 'The @odata.id of the reference is missing.');
    dir.addLink(kind, id, rel, target);
    return new HttpResponse(null, { status: 204 });
  }
  if (third !== undefined && fourth === '$ref' && method === 'DELETE') {
    dir.removeLink(kind, id, rel, third);
    return new HttpResponse(null, { status: 204 });
  }
  return graphError(400, 'Request_BadRequest', `Unsupported request ${method} /${path}.`);
}

/** The identity platform's token endpoint and Graph v1.0, answering for every tenant in `registry`. */
export function graphHandlers(registry: TenantRegistry): HttpHandler[] {
  return [
    http.post(`${LOGIN_BASE}/:tenant/oauth2/v2.0/token`, async ({ request, params }) => {
      const tenant = registry.get(String(params['tenant']));
      if (tenant === undefined) {
        return HttpResponse.json({ error: 'invalid_request', error_description: `AADSTS90002: Tenant '${String(params['tenant'])}' not found.` }, { status: 400 });
      }
      const form = new URLSearchParams(await request.text());
      if (form.get('grant_type') !== 'client_credentials') {
        return HttpResponse.json({ error: 'unsupported_grant_type', error_description: 'AADSTS70003: The app requested an unsupported grant type.' }, { status: 400 });
      }
      if (form.get('client_id') !== tenant.clientId || form.get('client_secret') !== tenant.clientSecret) {
        return HttpResponse.json(
          { error: 'invalid_client', error_description: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID." },
          { status: 401 },
        );
      }
      return HttpResponse.json({ token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, ext_expires_in: TOKEN_LIFETIME_SECONDS, access_token: registry.issue(tenant) });
    }),
    http.all(`${GRAPH_BASE}/*`, async ({ request }) => {
      const tenant = registry.bearer(request.headers.get('authorization'));
      if (tenant === undefined) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty or invalid.');
      const url = new URL(request.url);
      const fault = tenant.faults.next();
      if (fault?.status === 429) {
        // Conditional access throttles without Retry-After (graph-facts.md); clients fall back to their own backoff.
        const ca = url.pathname.includes(KINDS.conditionalAccessPolicy.path);
        return graphError(429, 'TooManyRequests', 'Too many requests.', ca ? {} : { 'Retry-After': String(fault.retryAfterSeconds) });
      }
      if (fault?.status === 503) return graphError(503, 'ServiceUnavailable', 'Service unavailable.', { 'Retry-After': String(fault.retryAfterSeconds) });
      try {
        return await serveGraph(tenant, request, url);
      } catch (error) {
        if (error instanceof DirectoryRefusal) return graphError(error.status, error.graphCode, error.message);
        if (error instanceof SyntaxError) return graphError(400, 'BadRequest', 'Unable to read JSON request payload.');
        throw error;
      }
    }),
  ];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** LocalStack and the KMS gateway listen on loopback; those requests must reach them untouched. */
export function isLoopback(url: string | URL): boolean {
  const host = new URL(url).hostname;
  return LOOPBACK.has(host) || host.startsWith('127.');
}

export interface GraphServer {
  readonly server: SetupServer;
  readonly registry: TenantRegistry;
  addTenant(tenant: MockTenant): void;
  removeTenant(tenantId: string): void;
  listen(): void;
  close(): void;
}

/**
 * One MSW server for every tenant of a run (scenarios run concurrently, each with its own
 * tenant). Loopback passes through; any other request without a handler fails the caller.
 */
export function createGraphServer(tenants: readonly MockTenant[] = []): GraphServer {
  const registry = new TenantRegistry();
  for (const t of tenants) registry.add(t);
  const server = setupServer(...graphHandlers(registry));
  return {
    server,
    registry,
    addTenant: (t) => registry.add(t),
    removeTenant: (id) => registry.remove(id),
    listen: () =>
      server.listen({
        onUnhandledRequest: (request, print) => {
          if (!isLoopback(request.url)) print.error();
        },
      }),
    close: () => server.close(),
  };
}
