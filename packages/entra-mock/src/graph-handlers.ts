import { randomUUID } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import type { HttpHandler } from 'msw';
import { FetchInterceptor } from '@mswjs/interceptors/fetch';
import { SetupServerApi } from 'msw/node';
import type { SetupServer } from 'msw/node';
import { Directory, DirectoryRefusal } from './directory.ts';
import type { DirectoryState } from './directory.ts';
import { TenantFaults } from './faults.ts';
import { graphError } from './graph-respond.ts';
import { serveGraph } from './graph-serve.ts';
import { GRAPH_BASE, KINDS, LOGIN_BASE } from './model.ts';

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

/**
 * `adopt`: the directory takes `state`'s objects as they are instead of copying them, for a state
 * nobody else holds (a freshly generated one): a million-user tenant is then not built twice.
 */
export function createMockTenant(state: DirectoryState, options: { clientId?: string; clientSecret?: string; clock?: () => Date; adopt?: boolean } = {}): MockTenant {
  return {
    tenantId: state.tenantId,
    clientId: options.clientId ?? randomUUID(),
    clientSecret: options.clientSecret ?? randomUUID(),
    directory: new Directory(state, { adopt: options.adopt ?? false }),
    faults: new TenantFaults(),
    clock: options.clock ?? (() => new Date()),
  };
}

const TOKEN_LIFETIME_SECONDS = 3599;

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

interface AadError {
  readonly status: number;
  readonly error: string;
  readonly code: number;
  readonly description: string;
}

/**
 * The identity platform's error body (/entra/identity-platform/reference-error-codes): `error`,
 * `error_description` ending in trace and correlation ids and a timestamp, `error_codes`,
 * `timestamp`, `trace_id`, `correlation_id`, `error_uri`.
 */
function aadError(e: AadError): Response {
  const trace = randomUUID();
  const correlation = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
  return HttpResponse.json(
    {
      error: e.error,
      error_description: `AADSTS${e.code}: ${e.description} Trace ID: ${trace} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
      error_codes: [e.code],
      timestamp,
      trace_id: trace,
      correlation_id: correlation,
      error_uri: `${LOGIN_BASE}/error?code=${e.code}`,
    },
    { status: e.status },
  );
}

function tokenRefusal(tenant: MockTenant | undefined, tenantParam: string, form: URLSearchParams): AadError | undefined {
  if (tenant === undefined) return { status: 400, error: 'invalid_request', code: 90002, description: `Tenant '${tenantParam}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.` };
  if (form.get('grant_type') !== 'client_credentials') return { status: 400, error: 'unsupported_grant_type', code: 70003, description: 'The app requested an unsupported grant type.' };
  if (form.get('scope') === null) return { status: 400, error: 'invalid_request', code: 900144, description: "The request body must contain the following parameter: 'scope'." };
  if (form.get('scope') !== 'https://graph.microsoft.com/.default') {
    return { status: 400, error: 'invalid_scope', code: 1002012, description: `The provided value for scope ${form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).` };
  }
  if (form.get('client_id') !== tenant.clientId) {
    return { status: 400, error: 'unauthorized_client', code: 700016, description: `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory '${tenant.tenantId}'.` };
  }
  if (form.get('client_secret') === null) return { status: 401, error: 'invalid_client', code: 7000216, description: "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type." };
  if (form.get('client_secret') !== tenant.clientSecret) {
    return { status: 401, error: 'invalid_client', code: 7000215, description: 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.' };
  }
  return undefined;
}

/** One authenticated Graph request: faults first, then the directory's answer or Graph's refusal. */
async function answer(tenant: MockTenant, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const client = request.headers.get('client-request-id');
  const echo: Record<string, string> = client === null ? {} : { 'client-request-id': client };
  const fault = tenant.faults.next(url.pathname);
  if (fault?.status === 429) {
    // Conditional access throttles without Retry-After (graph-facts.md); clients fall back to their own backoff.
    const ca = url.pathname.toLowerCase().includes(KINDS.conditionalAccessPolicy.path.toLowerCase());
    return graphError(429, 'TooManyRequests', 'Too many requests.', ca ? echo : { ...echo, 'Retry-After': String(fault.retryAfterSeconds) });
  }
  if (fault?.status === 503) return graphError(503, 'ServiceUnavailable', 'Service unavailable.', { ...echo, 'Retry-After': String(fault.retryAfterSeconds) });
  try {
    return await serveGraph(tenant, request, url);
  } catch (error) {
    if (error instanceof DirectoryRefusal) return graphError(error.status, error.graphCode, error.message, echo);
    if (error instanceof SyntaxError) return graphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.', echo);
    throw error;
  }
}

const BATCH_LIMIT = 20;

/**
 * json-batching: `POST /$batch` with at most 20 requests, each answered as if sent alone
 * (faults included) and returned as `{id, status, headers, body}`. `dependsOn` is not modelled.
 */
async function batch(tenant: MockTenant, request: Request): Promise<Response> {
  let body: { requests?: unknown };
  try {
    body = (await request.json()) as { requests?: unknown };
  } catch {
    return graphError(400, 'BadRequest', 'Unable to read JSON request payload.');
  }
  const requests = body.requests;
  if (!Array.isArray(requests) || requests.length === 0) return graphError(400, 'BadRequest', 'Invalid batch payload format.');
  if (requests.length > BATCH_LIMIT) return graphError(400, 'BadRequest', `Number of batch requests exceeds the limit of ${BATCH_LIMIT}.`);
  const responses = [];
  for (const r of requests as { id?: unknown; method?: unknown; url?: unknown; body?: unknown; headers?: Record<string, string>; dependsOn?: unknown }[]) {
    if (typeof r.id !== 'string' || typeof r.method !== 'string' || typeof r.url !== 'string') return graphError(400, 'BadRequest', 'Each batch request needs id, method and url.');
    if (r.dependsOn !== undefined) return graphError(501, 'NotImplemented', 'dependsOn in $batch is not modelled by the mock tenant (entra-mock README).');
    if (r.url.startsWith('https://') || r.url.includes('$batch')) return graphError(400, 'BadRequest', `Invalid request URL '${r.url}' in batch: it must be relative to /v1.0 and not a batch.`);
    const headers = new Headers({ ...(r.headers ?? {}), authorization: request.headers.get('authorization') ?? '' });
    if (r.body !== undefined && !headers.has('content-type')) return graphError(400, 'BadRequest', `Batch request ${r.id} has a body but no Content-Type header.`);
    const inner = new Request(`${GRAPH_BASE}/${r.url.replace(/^\//, '')}`, { method: r.method, headers, ...(r.body === undefined ? {} : { body: JSON.stringify(r.body) }) });
    const response = await answer(tenant, inner);
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    responses.push({
      id: r.id,
      status: response.status,
      headers: Object.fromEntries([...response.headers].filter(([k]) => k === 'content-type' || k === 'retry-after' || k === 'location')),
      ...(text === '' ? {} : { body: type.includes('json') ? (JSON.parse(text) as unknown) : text }),
    });
  }
  return HttpResponse.json({ responses });
}

/** The identity platform's token endpoint and Graph v1.0, answering for every tenant in `registry`. */
export function graphHandlers(registry: TenantRegistry): HttpHandler[] {
  return [
    http.post(`${LOGIN_BASE}/:tenant/oauth2/v2.0/token`, async ({ request, params }) => {
      const tenant = registry.get(String(params['tenant']));
      const form = new URLSearchParams(await request.text());
      const refusal = tokenRefusal(tenant, String(params['tenant']), form);
      if (refusal !== undefined) return aadError(refusal);
      return HttpResponse.json({ token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, ext_expires_in: TOKEN_LIFETIME_SECONDS, access_token: registry.issue(tenant!) });
    }),
    http.all(`${GRAPH_BASE}/*`, async ({ request }) => {
      const tenant = registry.bearer(request.headers.get('authorization'));
      if (tenant === undefined) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty or invalid.');
      if (new URL(request.url).pathname.replace(/\/$/, '').toLowerCase() === '/v1.0/$batch') {
        if (request.method !== 'POST') return graphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request uri.');
        return batch(tenant, request);
      }
      return answer(tenant, request);
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
 * tenant), intercepting `fetch`. Loopback passes through; any other fetch without a handler fails the caller.
 */
export function createGraphServer(tenants: readonly MockTenant[] = []): GraphServer {
  const registry = new TenantRegistry();
  for (const t of tenants) registry.add(t);
  // fetch only (the provider's Graph client calls fetch): Node's http module, which the AWS SDK uses
  // for S3 and KMS, is left alone. Intercepted too, every S3 and KMS call of the process went
  // through MSW's socket wrapper, a cost per request, and a long S3 body read under it could be
  // cut off mid-way (regression: a 100,000-user download refused as DataTampered).
  const server: SetupServer = new SetupServerApi(graphHandlers(registry), [new FetchInterceptor()]);
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
