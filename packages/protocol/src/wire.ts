/**
 * The HTTP/JSON form of each operation, in one table both sides read: how a call's arguments
 * become a request body and back, and how a result becomes JSON (bytes as base64, times as ISO).
 * `openapi.yaml` documents the same shapes; the tests hold the server's answers to it.
 */
import type { Operation, ProviderSession } from './protocol.ts';

export type Body = Record<string, unknown>;

interface Wire {
  /** The call's arguments as a request body (without `now`). */
  readonly encode: (args: readonly unknown[]) => Body;
  readonly decode: (body: Body) => unknown[];
}

const account = (args: readonly unknown[]): Body => ({ account: args[0] });
const accountOnly: Wire = { encode: account, decode: (b) => [b['account']] };
const atPoint: Wire = { encode: (a) => ({ account: a[0], point: a[1] }), decode: (b) => [b['account'], b['point']] };
const withOptions: Wire = {
  encode: (a) => ({ account: a[0], ...(a[1] === undefined ? {} : { options: a[1] }) }),
  decode: (b) => [b['account'], b['options']],
};

export const WIRE: Record<Operation, Wire> = {
  activate: accountOnly,
  view: accountOnly,
  submitKey: { encode: (a) => ({ account: a[0], arn: a[1] }), decode: (b) => [b['account'], b['arn']] },
  showTerms: accountOnly,
  acceptTerms: accountOnly,
  declineTerms: accountOnly,
  abandon: accountOnly,
  updateKey: {
    encode: (a) => ({ account: a[0], arn: a[1], ...(a[2] === undefined ? {} : { options: a[2] }) }),
    decode: (b) => [b['account'], b['arn'], b['options']],
  },
  completeUpdate: accountOnly,
  returnToCloudKms: accountOnly,
  connectTenant: {
    encode: (a) => ({ account: a[0], tenant: a[1], ...(a[2] === undefined ? {} : { options: a[2] }) }),
    decode: (b) => [b['account'], b['tenant'], b['options']],
  },
  runScheduled: { encode: (a) => ({ account: a[0], at: (a[1] as Date).toISOString() }), decode: (b) => [b['account'], new Date(String(b['at']))] },
  backup: withOptions,
  restore: withOptions,
  download: withOptions,
  snapshots: withOptions,
  tamper: { encode: (a) => ({ account: a[0], snapshot: a[1], mode: a[2] }), decode: (b) => [b['account'], b['snapshot'], b['mode']] },
  pause: atPoint,
  paused: { encode: (a) => ({ account: a[0], point: a[1], timeoutMs: a[2] }), decode: (b) => [b['account'], b['point'], b['timeoutMs']] },
  resume: atPoint,
  crash: atPoint,
  restart: { encode: () => ({}), decode: () => [] },
};

/** Required fields of each operation's body, checked by the server before the provider sees it. */
export const REQUIRED: Record<Operation, readonly string[]> = {
  activate: ['account'],
  view: ['account'],
  submitKey: ['account', 'arn'],
  showTerms: ['account'],
  acceptTerms: ['account'],
  declineTerms: ['account'],
  abandon: ['account'],
  updateKey: ['account', 'arn'],
  completeUpdate: ['account'],
  returnToCloudKms: ['account'],
  connectTenant: ['account', 'tenant'],
  runScheduled: ['account', 'at'],
  backup: ['account'],
  restore: ['account'],
  download: ['account'],
  snapshots: ['account'],
  tamper: ['account', 'snapshot', 'mode'],
  pause: ['account', 'point'],
  paused: ['account', 'point', 'timeoutMs'],
  resume: ['account', 'point'],
  crash: ['account', 'point'],
  restart: [],
};

/** Results to JSON: the one binary field (a download's zip) as base64. */
export function encodeResult(operation: Operation, result: unknown): unknown {
  if (operation === 'download') {
    const r = result as { ok: boolean; zip?: Uint8Array };
    if (r.ok && r.zip !== undefined) return { ...r, zip: Buffer.from(r.zip).toString('base64') };
  }
  return result;
}

export function decodeResult(operation: Operation, json: unknown): unknown {
  if (operation === 'download') {
    const r = json as { ok: boolean; zip?: string };
    if (r.ok && typeof r.zip === 'string') return { ...r, zip: new Uint8Array(Buffer.from(r.zip, 'base64')) };
  }
  return json;
}

export type SessionMethod = (this: ProviderSession, ...args: unknown[]) => Promise<unknown>;
