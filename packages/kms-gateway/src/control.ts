import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditQuery } from './audit.ts';
import type { KmsGatewayControl } from './gateway.ts';
import type { ToxicSpec } from './toxics.ts';

export const CONTROL_PREFIX = '/_ekm/';

/** The control API over HTTP, on the gateway's port under `/_ekm/`; every route is one in-process call. */
export async function handleControl(control: KmsGatewayControl, req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const path = url.pathname.slice(CONTROL_PREFIX.length).split('/').filter(Boolean);
  const send = (status: number, value: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  const m = req.method ?? 'GET';
  const [area, item] = path;
  try {
    const input = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
    const account = url.searchParams.get('account') ?? undefined;
    if (area === 'clock' && m === 'GET') return send(200, { now: control.clock.now(account).toISOString() });
    if (area === 'clock' && item === 'advance' && m === 'POST') {
      const by = input as { days?: number; hours?: number; ms?: number; account?: string };
      return send(200, { now: (await control.clock.advance(by, by.account ?? account)).toISOString() });
    }
    if (area === 'toxics' && item === undefined && m === 'GET') return send(200, control.toxics.list());
    if (area === 'toxics' && item === undefined && m === 'POST') return send(201, control.toxics.add(input as unknown as ToxicSpec));
    if (area === 'toxics' && item === 'reset' && m === 'POST') return send(200, { removed: control.toxics.reset(input) });
    if (area === 'toxics' && item !== undefined && m === 'DELETE') {
      return control.toxics.remove(decodeURIComponent(item)) ? send(204, null) : send(404, { error: 'no such toxic' });
    }
    if (area === 'audit' && item === undefined && m === 'GET') {
      const q: AuditQuery = {};
      for (const k of ['account', 'callerAccount', 'recipientAccount', 'keyArn', 'errorCode', 'since', 'until'] as const) {
        const v = url.searchParams.get(k);
        if (v !== null) q[k] = v;
      }
      const names = url.searchParams.getAll('eventName');
      if (names.length > 0) q.eventName = names;
      const failed = url.searchParams.get('failed');
      if (failed !== null) q.failed = failed === 'true';
      return send(200, control.audit.query(q));
    }
    if (area === 'audit' && item === 'clear' && m === 'POST') return send(200, { removed: control.audit.clear(input) });
    if (area === 'stats' && m === 'GET') return send(200, control.stats());
    if (area === 'latency' && item === undefined && m === 'GET') return send(200, control.latency.summary());
    if (area === 'latency' && item === 'reset' && m === 'POST') {
      control.latency.reset();
      return send(204, null);
    }
    if (area === 'principals' && item === undefined && m === 'GET') return send(200, control.principals.list());
    if (area === 'principals' && item !== undefined && m === 'PUT') {
      control.principals.set(decodeURIComponent(item), String(input['principalArn']));
      return send(204, null);
    }
    if (area === 'principals' && item !== undefined && m === 'DELETE') {
      return send(control.principals.remove(decodeURIComponent(item)) ? 204 : 404, null);
    }
    return send(404, { error: `no control route ${m} ${url.pathname}` });
  } catch (error) {
    return send(400, { error: error instanceof Error ? error.message : String(error) });
  }
}

