/**
 * Serves any in-process binding over the HTTP/JSON binding of `ekm.provider/v1` (openapi.yaml):
 * what `ekm provider serve` runs for the reference provider, and what a team can copy the
 * shape of in another language. Loopback only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OPERATIONS, PROTOCOL, type Environment, type Operation, type ProviderBinding, type ProviderSession } from './protocol.ts';
import { encodeResult, REQUIRED, WIRE, type Body } from './wire.ts';

export interface ServedProvider {
  readonly url: string;
  close(): Promise<void>;
}

/** Error codes of the binding itself (not the provider's failures, which are results). */
export const HTTP_ERRORS = {
  BadRequest: 400,
  NoSuchSession: 404,
  UnknownOperation: 404,
  NotDeclared: 501,
  ProviderError: 500,
} as const;
type HttpErrorCode = keyof typeof HTTP_ERRORS;

class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const OPERATION_SET: ReadonlySet<string> = new Set(OPERATIONS);
const MAX_BODY = 1024 * 1024;

export async function serveProvider(binding: ProviderBinding, options: { port?: number } = {}): Promise<ServedProvider> {
  const sessions = new Map<string, { session: ProviderSession; now: { value: Date } }>();

  async function handle(req: IncomingMessage): Promise<{ status: number; body?: unknown }> {
    const path = new URL(req.url ?? '/', 'http://loopback').pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (path[0] !== 'v1') throw new HttpError('UnknownOperation', `no route ${method} /${path.join('/')}; the protocol lives under /v1`);
    if (path.length === 2 && path[1] === 'provider' && method === 'GET') return { status: 200, body: binding.info };
    if (path[1] !== 'sessions') throw new HttpError('UnknownOperation', `no route ${method} /${path.join('/')}`);
    if (path.length === 2 && method === 'POST') {
      const body = await readJson(req);
      const now = { value: time(body['now'], 'now') };
      const environment = environmentOf(body['environment'], () => now.value);
      const id = randomUUID();
      sessions.set(id, { session: await binding.open(environment), now });
      return { status: 201, body: { session: id, provider: binding.info } };
    }
    const entry = sessions.get(path[2] ?? '');
    if (entry === undefined) throw new HttpError('NoSuchSession', `no session ${path[2] ?? ''} (closed, or opened on another server)`);
    if (path.length === 3 && method === 'DELETE') {
      sessions.delete(path[2]!);
      await entry.session.close();
      return { status: 204 };
    }
    const operation = path[3] ?? '';
    if (path.length !== 4 || method !== 'POST' || !OPERATION_SET.has(operation)) {
      throw new HttpError('UnknownOperation', `no operation ${method} ${operation}; operations: ${OPERATIONS.join(', ')}`);
    }
    const op = operation as Operation;
    const body = await readJson(req);
    for (const field of REQUIRED[op]) if (body[field] === undefined) throw new HttpError('BadRequest', `${op}: field "${field}" is required`);
    entry.now.value = time(body['now'], 'now');
    const fn = (entry.session as unknown as Record<string, ((...a: unknown[]) => Promise<unknown>) | undefined>)[op];
    if (fn === undefined) throw new HttpError('NotDeclared', `${op} is a capability this provider does not declare`);
    const result = await fn.apply(entry.session, WIRE[op].decode(body));
    return { status: 200, body: { result: encodeResult(op, result) } };
  }

  const server = createServer((req, res) => {
    handle(req)
      .then(({ status, body }) => send(res, status, body))
      .catch((error: unknown) => {
        const e = error instanceof HttpError ? error : new HttpError('ProviderError', error instanceof Error ? error.message : String(error));
        send(res, HTTP_ERRORS[e.code], { error: { code: e.code, message: e.message } });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const { session } of sessions.values()) await session.close().catch(() => undefined);
      sessions.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-ekm-protocol': PROTOCOL });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError('BadRequest', `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError('BadRequest', 'request body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError('BadRequest', 'request body must be a JSON object');
  return value as Body;
}

function time(value: unknown, field: string): Date {
  const d = typeof value === 'string' ? new Date(value) : undefined;
  if (d === undefined || Number.isNaN(d.getTime()))
    throw new HttpError('BadRequest', `field "${field}" must be an ISO date-time, found ${JSON.stringify(value)}`);
  return d;
}

function environmentOf(value: unknown, now: () => Date): Environment {
  const e = (value ?? {}) as Record<string, unknown>;
  for (const field of ['accountId', 'region', 'kms', 's3', 'graph']) {
    if (e[field] === undefined) throw new HttpError('BadRequest', `field "environment.${field}" is required`);
  }
  return { ...(e as unknown as Omit<Environment, 'now'>), now };
}
