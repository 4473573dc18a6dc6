import type { MockTenant } from '../src/graph-handlers.ts';
import { GRAPH_BASE, LOGIN_BASE } from '../src/model.ts';

/** A signed-in raw Graph caller for the mock's own tests: no retries, no paging, the Response as Graph sent it. */
export interface GraphCaller {
  (method: string, path: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** The JSON body of a call that must succeed; throws with Graph's error text otherwise. */
  json<T = Record<string, unknown>>(method: string, path: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<T>;
}

export async function tokenResponse(t: Pick<MockTenant, 'tenantId' | 'clientId' | 'clientSecret'>, secret = t.clientSecret, fetchFn: typeof fetch = fetch): Promise<Response> {
  const body = new URLSearchParams({ client_id: t.clientId, client_secret: secret, grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' });
  return fetchFn(`${LOGIN_BASE}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', body });
}

/** Signs in with the tenant's app registration; `path` is relative to /v1.0 or absolute (a nextLink). */
export async function signIn(t: Pick<MockTenant, 'tenantId' | 'clientId' | 'clientSecret'>, fetchFn: typeof fetch = fetch): Promise<GraphCaller> {
  const token = ((await (await tokenResponse(t, t.clientSecret, fetchFn)).json()) as { access_token: string }).access_token;
  const call = (async (method, path, options = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const url = path.startsWith('https://') ? path : `${GRAPH_BASE}/${path}`;
    return fetchFn(url, { method, headers, ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }) });
  }) as GraphCaller;
  call.json = async <T,>(method: string, path: string, options = {}) => {
    const response = await call(method, path, options);
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  return call;
}
