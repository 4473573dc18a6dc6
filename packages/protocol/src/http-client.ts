/**
 * The harness's side of the HTTP/JSON binding: a provider at a URL, used exactly like an
 * in-process one. Every call carries the harness's time as `now`.
 */
import {
  OPERATION_CAPABILITY,
  OPERATIONS,
  PROTOCOL,
  type Environment,
  type Operation,
  type ProviderBinding,
  type ProviderInfo,
  type ProviderSession,
} from './protocol.ts';
import { decodeResult, WIRE } from './wire.ts';

/** A provider answering outside the protocol: not a conformance failure of a rule, a broken binding. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly $fault = 'server';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Sees every answer as it came over the wire (operation id of openapi.yaml, status, JSON body), e.g. to hold it to the document. */
export type AnswerObserver = (operationId: string, status: number, body: unknown) => void;

export async function httpProvider(url: string, options: { readonly observe?: AnswerObserver } = {}): Promise<ProviderBinding> {
  const base = url.replace(/\/+$/, '');
  const call = (id: string, target: string, method: string, body?: unknown) => send(id, target, method, body, options.observe);
  const info = (await call('provider', `${base}/v1/provider`, 'GET')) as ProviderInfo;
  if (info?.protocol !== PROTOCOL) throw new ProtocolError(`${base} speaks ${String(info?.protocol)}, not ${PROTOCOL}`, 'ProtocolMismatch');
  return {
    info,
    async open(environment: Environment): Promise<ProviderSession> {
      const { now, ...rest } = environment;
      const created = (await call('openSession', `${base}/v1/sessions`, 'POST', { environment: rest, now: now().toISOString() })) as { session: string };
      const at = `${base}/v1/sessions/${encodeURIComponent(created.session)}`;
      const session: Record<string, unknown> = {
        close: async () => void (await call('closeSession', at, 'DELETE')),
      };
      for (const op of OPERATIONS) {
        const needs = OPERATION_CAPABILITY[op];
        if (needs !== undefined && !info.capabilities.includes(needs)) continue;
        session[op] = async (...args: unknown[]) => {
          const body = { ...WIRE[op].encode(args), now: now().toISOString() };
          const answer = (await call(op, `${at}/${op}`, 'POST', body)) as { result: unknown };
          return decodeResult(op as Operation, answer.result);
        };
      }
      return session as unknown as ProviderSession;
    },
  };
}

async function send(id: string, url: string, method: string, body: unknown, observe: AnswerObserver | undefined): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (error) {
    throw new ProtocolError(
      `the provider at ${url} does not answer (${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)})`,
      'Unreachable',
    );
  }
  if (response.status === 204) {
    observe?.(id, 204, undefined);
    return undefined;
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProtocolError(`${method} ${url} answered ${response.status} with a body that is not JSON`, 'BadResponse');
  }
  observe?.(id, response.status, json);
  if (!response.ok) {
    const e = (json as { error?: { code?: string; message?: string } }).error;
    throw new ProtocolError(`${method} ${url}: ${e?.code ?? response.status}: ${e?.message ?? text.slice(0, 200)}`, e?.code ?? 'BadResponse');
  }
  return json;
}
