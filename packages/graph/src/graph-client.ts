import { failure } from '@ekm/domain';
import type { Failure, FailureCode } from '@ekm/domain';
import { GRAPH_BASE, LOGIN_BASE } from './model.ts';

export type GraphFailureCode = Extract<FailureCode, 'GraphThrottled' | 'GraphUnavailable'>;

/**
 * A Graph call that did not succeed. Transient outcomes carry a code from the failure table
 * (`GraphThrottled`, `GraphUnavailable`) and are only thrown once retries are used up;
 * refusals (400, 403, 404, a wrong client secret) have no code and keep Graph's own `graphCode`.
 */
export class GraphError extends Error {
  override readonly name = 'GraphError';
  readonly code: GraphFailureCode | undefined;
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly graphCode: string | undefined,
    code?: GraphFailureCode,
  ) {
    super(message);
    this.code = code;
  }

  get failure(): Failure<GraphFailureCode> | undefined {
    return this.code === undefined ? undefined : failure(this.code, this.message);
  }
}

/** The one place an unknown throwable from a Graph call becomes a GraphError: anything not already one is the network failing. */
export function toGraphError(error: unknown): GraphError {
  if (error instanceof GraphError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GraphError(`Microsoft Graph could not be reached: ${message}`, undefined, undefined, 'GraphUnavailable');
}

export interface GraphClientOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Retries after a 429, 503, 504 or network failure before giving up; default 6. */
  readonly maxRetries?: number;
  /** Injected so tests ride out a Retry-After storm without waiting. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Delay when a throttled answer has no Retry-After (conditional access does that); default 1 s doubling to 32 s. */
  readonly backoffMs?: (attempt: number) => number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

export interface ListOptions {
  readonly top?: number;
  readonly select?: readonly string[];
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Graph v1.0 over the client-credentials flow: the only way the provider reaches a tenant. */
export class GraphClient {
  readonly tenantId: string;
  /** Requests retried after a transient answer, for reports and tests. */
  retries = 0;
  requests = 0;
  private token: { value: string; expires: number } | undefined;
  private readonly maxRetries: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly backoffMs: (attempt: number) => number;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: GraphClientOptions) {
    this.tenantId = options.tenantId;
    this.maxRetries = options.maxRetries ?? 6;
    this.sleep = options.sleep ?? realSleep;
    this.backoffMs = options.backoffMs ?? ((attempt) => Math.min(32_000, 1000 * 2 ** attempt));
    // Looked up per call so an MSW server started after the client still intercepts it.
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = options.now ?? Date.now;
  }

  private async accessToken(): Promise<string> {
    if (this.token !== undefined && this.now() < this.token.expires) return this.token.value;
    const { tenantId, clientId, clientSecret } = this.options;
    const form = new URLSearchParams({ client_id: clientId, client_secret: clientSecret, scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials' });
    const response = await this.send(`${LOGIN_BASE}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`, { method: 'POST', body: form });
    const body = (await response.json()) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!response.ok || body.access_token === undefined) {
      throw new GraphError(body.error_description ?? `token request failed with ${response.status}`, response.status, body.error);
    }
    // Renew a minute early so a token never expires between check and use.
    this.token = { value: body.access_token, expires: this.now() + ((body.expires_in ?? 3599) - 60) * 1000 };
    return this.token.value;
  }

  /** fetch with Retry-After handling: transient answers are retried, the last one is returned or thrown. */
  private async send(url: string, init: RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      this.requests++;
      try {
        response = await this.fetch(url, init);
      } catch (error) {
        if (attempt >= this.maxRetries) throw toGraphError(error);
        this.retries++;
        await this.sleep(this.backoffMs(attempt));
        continue;
      }
      if (!TRANSIENT.has(response.status)) return response;
      if (attempt >= this.maxRetries) throw gaveUp(response.status, await graphErrorBody(response), attempt);
      await drain(response);
      this.retries++;
      await this.sleep(this.delay(response.headers.get('retry-after') ?? undefined, attempt));
    }
  }

  /** One Graph call. `path` is relative to /v1.0 or an absolute `@odata.nextLink`. Returns the JSON body, or undefined for 204. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const url = path.startsWith('https://') ? path : `${GRAPH_BASE}/${path}`;
    for (let renewed = false; ; renewed = true) {
      const headers: Record<string, string> = { authorization: `Bearer ${await this.accessToken()}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await this.send(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      if (response.status === 401 && !renewed) {
        // The token may have been revoked or expired early: one fresh token, then the refusal stands.
        await drain(response);
        this.token = undefined;
        continue;
      }
      if (!response.ok) {
        const error = await graphErrorBody(response);
        throw new GraphError(`${method} ${path}: ${error.message}`, response.status, error.code);
      }
      if (response.status === 204) return undefined as T;
      const text = await response.text();
      return (text === '' ? undefined : JSON.parse(text)) as T;
    }
  }

  /** The wait before trying a transient answer again: its Retry-After (seconds) when it has a usable one, else the backoff. */
  private delay(retryAfter: string | undefined, attempt: number): number {
    const seconds = Number(retryAfter);
    return retryAfter !== undefined && Number.isFinite(seconds) ? seconds * 1000 : this.backoffMs(attempt);
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }
  patch(path: string, body: unknown): Promise<void> {
    return this.call<void>('PATCH', path, body);
  }
  delete(path: string): Promise<void> {
    return this.call<void>('DELETE', path);
  }

  /** Every page of a collection, following `@odata.nextLink` until there is none. */
  async *pages<T>(path: string, options: ListOptions = {}): AsyncGenerator<T[]> {
    const query = new URLSearchParams();
    if (options.top !== undefined) query.set('$top', String(options.top));
    if (options.select !== undefined) query.set('$select', options.select.join(','));
    const q = query.toString();
    yield* this.pagesFrom(await this.get<Page<T>>(q === '' ? path : `${path}?${q}`));
  }

  /** A collection's pages from one already read: it, then each `@odata.nextLink`. */
  async *pagesFrom<T>(first: Page<T>): AsyncGenerator<T[]> {
    for (let page: Page<T> | undefined = first; page !== undefined; ) {
      yield page.value;
      const next: string | undefined = page['@odata.nextLink'];
      page = next === undefined ? undefined : await this.get<Page<T>>(next);
    }
  }

  /**
   * GETs of paths relative to /v1.0, up to 20 at a time in one `POST /$batch` (JSON batching:
   * "JSON batch requests are currently limited to 20 individual requests"), each answer as `get`
   * would give it, in input order. A request answered 429, 503 or 504 inside a batch is throttled
   * on its own (Microsoft Graph throttling guidance: "each request in a batch is evaluated against
   * throttling limits"), so only those are sent again, after the longest Retry-After among them.
   */
  async getMany<T>(paths: readonly string[]): Promise<T[]> {
    const results = new Array<T>(paths.length);
    for (let at = 0; at < paths.length; at += BATCH_LIMIT) {
      let pending = paths.slice(at, at + BATCH_LIMIT).map((_, i) => at + i);
      for (let attempt = 0; pending.length > 0; attempt++) {
        const requests = pending.map((i) => ({ id: String(i), method: 'GET', url: `/${paths[i]}` }));
        const out = await this.post<{ responses?: BatchResponse[] }>('$batch', { requests });
        const answered = new Map((out?.responses ?? []).map((r) => [r.id, r]));
        const again: number[] = [];
        let wait = 0;
        for (const i of pending) {
          const r = answered.get(String(i));
          if (r === undefined) throw new GraphError(`GET ${paths[i]}: no answer in the $batch response`, undefined, undefined, 'GraphUnavailable');
          if (r.status >= 200 && r.status < 300) {
            results[i] = r.body as T;
            continue;
          }
          const error = batchError(r);
          if (!TRANSIENT.has(r.status)) throw new GraphError(`GET ${paths[i]}: ${error.message}`, r.status, error.code);
          if (attempt >= this.maxRetries) throw gaveUp(r.status, error, attempt);
          wait = Math.max(wait, this.delay(header(r, 'retry-after'), attempt));
          again.push(i);
        }
        if (again.length > 0) {
          this.retries += again.length;
          await this.sleep(wait);
        }
        pending = again;
      }
    }
    return results;
  }

  /** Every item of each collection: first pages through `getMany`, any further page through its `@odata.nextLink`. */
  async listMany<T>(paths: readonly string[]): Promise<T[][]> {
    const all: T[][] = [];
    for (const first of await this.getMany<Page<T>>(paths)) {
      const items: T[] = [];
      for await (const page of this.pagesFrom(first)) items.push(...page);
      all.push(items);
    }
    return all;
  }

  async list<T>(path: string, options: ListOptions = {}): Promise<T[]> {
    const all: T[] = [];
    for await (const page of this.pages<T>(path, options)) all.push(...page);
    return all;
  }
}

/** A page of a collection as Graph returns it. */
export interface Page<T> {
  readonly value: T[];
  readonly '@odata.nextLink'?: string;
}

/** Answers retried after a wait: throttled, unavailable, gateway timeout. */
const TRANSIENT = new Set([429, 503, 504]);

/** The last transient answer, once retries are used up. */
function gaveUp(status: number, error: { code: string | undefined; message: string }, attempt: number): GraphError {
  const code: GraphFailureCode = status === 429 ? 'GraphThrottled' : 'GraphUnavailable';
  return new GraphError(`${error.message} (gave up after ${attempt} retries)`, status, error.code, code);
}

/** JSON batching's limit of requests per batch. */
const BATCH_LIMIT = 20;

interface BatchResponse {
  readonly id: string;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

function header(r: BatchResponse, name: string): string | undefined {
  for (const [k, v] of Object.entries(r.headers ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
}

function batchError(r: BatchResponse): { code: string | undefined; message: string } {
  const error = (r.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return { code: error?.code, message: error?.message ?? `HTTP ${r.status}` };
}

async function graphErrorBody(response: Response): Promise<{ code: string | undefined; message: string }> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return { code: parsed.error?.code, message: parsed.error?.message ?? `HTTP ${response.status}` };
  } catch {
    return { code: undefined, message: `HTTP ${response.status}` };
  }
}

/** Reads a body that is not needed, so the connection is released; cancelling MSW's mocked streams can hang. */
async function drain(response: Response): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}
