import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { getResponse } from 'msw';
import { compareDirectories } from './directory.ts';
import type { DirectoryDifference, DirectoryState } from './directory.ts';
import { generateTenant } from './generate.ts';
import type { TenantSpec } from './generate.ts';
import { TenantRegistry, createMockTenant, graphHandlers } from './graph-handlers.ts';
import type { MockTenant } from './graph-handlers.ts';
import { ENTITY_KINDS, GRAPH_BASE, LOGIN_BASE } from './model.ts';
import type { EntityKind } from './model.ts';

/**
 * Microsoft's side over real loopback HTTP, so it can run in another process than the
 * provider: the Graph and login hosts are served under `/<host>/...` and answered by the same
 * MSW handlers as in-process, and `/control/...` lets a test or bench set tenants up and look at them.
 */
export interface GraphHttpServer {
  readonly url: string;
  readonly registry: TenantRegistry;
  close(): Promise<void>;
}

const HOSTS = [new URL(GRAPH_BASE).origin, new URL(LOGIN_BASE).origin];

/** What a tenant looks like from outside: sign-in and size, no objects. */
export interface TenantSummary {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly counts: Readonly<Record<EntityKind, number>>;
  readonly links: number;
}

/** Changes a control client asks for, applied in order as the directory's own operations. */
export type DirectoryChange =
  | { readonly op: 'update'; readonly kind: EntityKind; readonly id: string; readonly changes: Readonly<Record<string, unknown>> }
  | { readonly op: 'remove'; readonly kind: EntityKind; readonly id: string };

function summary(t: MockTenant): TenantSummary {
  const state = t.directory.state();
  return {
    tenantId: t.tenantId,
    clientId: t.clientId,
    clientSecret: t.clientSecret,
    counts: Object.fromEntries(ENTITY_KINDS.map((k) => [k, state.objects[k].length])) as Record<EntityKind, number>,
    links: state.links.length,
  };
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function none(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the loopback server on an ephemeral port. */
export async function startGraphHttp(tenants: readonly MockTenant[] = []): Promise<GraphHttpServer> {
  const registry = new TenantRegistry();
  for (const t of tenants) registry.add(t);
  const handlers = graphHandlers(registry);
  const checkpoints = new Map<string, DirectoryState>();

  async function control(path: string[], method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (path[0] === 'memory' && method === 'GET') return json(res, 200, process.memoryUsage());
    if (path[0] !== 'tenants') return json(res, 404, { error: `no control ${path.join('/')}` });
    if (path.length === 1 && method === 'POST') {
      const spec = JSON.parse((await body(req)).toString()) as Omit<TenantSpec, 'referenceDate'> & { referenceDate: string };
      const tenant = createMockTenant(generateTenant({ ...spec, referenceDate: new Date(spec.referenceDate) }), { adopt: true });
      registry.add(tenant);
      return json(res, 201, summary(tenant));
    }
    const tenant = registry.get(path[1] ?? '');
    if (tenant === undefined) return json(res, 404, { error: `no tenant ${path[1] ?? ''}` });
    const what = `${method} ${path.slice(2).join('/')}`;
    switch (what) {
      case 'GET ':
        return json(res, 200, summary(tenant));
      case 'GET state':
        return json(res, 200, tenant.directory.state());
      case 'GET ids': {
        const kind = new URL(req.url ?? '', 'http://x').searchParams.get('kind') as EntityKind;
        return json(res, 200, tenant.directory.list(kind).map((o) => o.id));
      }
      case 'POST changes': {
        const changes = JSON.parse((await body(req)).toString()) as DirectoryChange[];
        for (const c of changes) {
          if (c.op === 'update') tenant.directory.update(c.kind, c.id, c.changes);
          else tenant.directory.remove(c.kind, c.id, tenant.clock());
        }
        return json(res, 200, { applied: changes.length });
      }
      case 'POST checkpoint':
        checkpoints.set(tenant.tenantId, tenant.directory.state());
        return none(res);
      case 'GET differences': {
        const saved = checkpoints.get(tenant.tenantId);
        if (saved === undefined) return json(res, 409, { error: 'no checkpoint' });
        return json(res, 200, compareDirectories(saved, tenant.directory.state()));
      }
      case 'DELETE ':
        registry.remove(tenant.tenantId);
        checkpoints.delete(tenant.tenantId);
        return none(res);
      default:
        return json(res, 404, { error: `no control ${what}` });
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://loopback');
    const [first, ...rest] = url.pathname.slice(1).split('/');
    if (first === 'control') return control(rest, req.method ?? 'GET', req, res);
    const origin = HOSTS.find((h) => new URL(h).host === first);
    if (origin === undefined) return json(res, 404, { error: `no host ${first ?? ''}` });
    const data = await body(req);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== 'host') headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    const request = new Request(`${origin}/${rest.join('/')}${url.search}`, {
      method: req.method ?? 'GET',
      headers,
      ...(data.length === 0 ? {} : { body: data }),
    });
    const response = await getResponse(handlers, request);
    if (response === undefined) return json(res, 404, { error: `no handler for ${request.method} ${request.url}` });
    const out = Buffer.from(await response.arrayBuffer());
    const head = Object.fromEntries(response.headers);
    head['content-length'] = String(out.length);
    res.writeHead(response.status, head);
    res.end(out);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    registry,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e === undefined ? resolve() : reject(e)));
      }),
  };
}

/**
 * A fetch that sends Graph and login calls to a loopback server instead of Microsoft, for
 * `GraphClientOptions.fetch`; any other URL goes out as it is.
 */
export function loopbackFetch(url: string): typeof fetch {
  return (input, init) => {
    const target = input instanceof Request ? input.url : String(input);
    const origin = HOSTS.find((h) => target.startsWith(`${h}/`));
    if (origin === undefined) return globalThis.fetch(input, init);
    return globalThis.fetch(`${url}/${new URL(origin).host}${target.slice(origin.length)}`, init);
  };
}

/** The control endpoint of a loopback server, from any process. */
export class GraphControl {
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  async #call<T>(method: string, path: string, value?: unknown): Promise<T> {
    const response = await fetch(`${this.url}/control/${path}`, {
      method,
      ...(value === undefined ? {} : { body: JSON.stringify(value), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`control ${method} ${path}: ${response.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  createTenant(spec: TenantSpec): Promise<TenantSummary> {
    return this.#call('POST', 'tenants', { ...spec, referenceDate: spec.referenceDate.toISOString() });
  }
  tenant(tenantId: string): Promise<TenantSummary> {
    return this.#call('GET', `tenants/${tenantId}`);
  }
  state(tenantId: string): Promise<DirectoryState> {
    return this.#call('GET', `tenants/${tenantId}/state`);
  }
  ids(tenantId: string, kind: EntityKind): Promise<string[]> {
    return this.#call('GET', `tenants/${tenantId}/ids?kind=${kind}`);
  }
  change(tenantId: string, changes: readonly DirectoryChange[]): Promise<{ applied: number }> {
    return this.#call('POST', `tenants/${tenantId}/changes`, changes);
  }
  /** Keeps the tenant's state as it is now, in the server's process, for `differences`. */
  checkpoint(tenantId: string): Promise<void> {
    return this.#call('POST', `tenants/${tenantId}/checkpoint`);
  }
  differences(tenantId: string): Promise<DirectoryDifference[]> {
    return this.#call('GET', `tenants/${tenantId}/differences`);
  }
  removeTenant(tenantId: string): Promise<void> {
    return this.#call('DELETE', `tenants/${tenantId}`);
  }
  memory(): Promise<NodeJS.MemoryUsage> {
    return this.#call('GET', 'memory');
  }
}

export interface GraphProcess {
  readonly url: string;
  readonly pid: number;
  readonly control: GraphControl;
  /** For `GraphClientOptions.fetch`. */
  readonly fetch: typeof fetch;
  close(): Promise<void>;
}

/**
 * Runs the loopback server in a child process (graph-process.ts), started the way this
 * process was unless `execArgv` says otherwise (so `--import tsx` carries over). The child ends when closed or when this process's stdin pipe to it goes.
 */
export function spawnGraphProcess(options: { execArgv?: readonly string[] } = {}): Promise<GraphProcess> {
  const script = fileURLToPath(new URL('./graph-process.ts', import.meta.url));
  const execArgv = options.execArgv ?? process.execArgv.filter((a) => a !== '--expose-gc');
  const child = spawn(process.execPath, [...execArgv, script], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (!out.includes('\n') || line === undefined) return;
      child.stdout.off('data', onData);
      const { url } = JSON.parse(line) as { url: string };
      resolve({
        url,
        pid: child.pid!,
        control: new GraphControl(url),
        fetch: loopbackFetch(url),
        close: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.stdin.end();
          }),
      });
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`graph process exited with ${code} before it listened`)));
  });
}
