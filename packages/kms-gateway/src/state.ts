import type { IncomingMessage } from 'node:http';
import type { GrantStore } from './grants.ts';
import { header } from './identity.ts';
import type { ImportBroker } from './imports.ts';
import type { KeyRegistry, KeyRef } from './keys.ts';
import type { RotationLog } from './rotations.ts';
import type { Upstream } from './upstream.ts';

/** What the gateway knows beyond LocalStack, shared by the checks and the per-operation handlers. */
export interface GatewayState {
  readonly upstream: Upstream;
  readonly keys: KeyRegistry;
  readonly grants: GrantStore;
  readonly imports: ImportBroker;
  readonly rotations: RotationLog;
  readonly stats: { accessDenied: number };
  /** The gateway clock as `account` sees it (its own offset from the shared clock). */
  timeOf(account?: string): Date;
}

/** One key a call acts on, with the action the key policy is asked about. */
export interface KeyUse {
  ref: KeyRef;
  action: string;
  encryptionContext: Record<string, string>;
}

/** LocalStack's answer to one forwarded call. */
export type Sent =
  | { answer: Record<string, unknown> }
  | { error: { status: number; code: string; message: string; raw: string; op: string } };

/** Only what LocalStack needs: the signature headers stay so it reads the account as usual. */
export function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['authorization', 'content-type', 'x-amz-target', 'x-amz-date', 'x-amz-security-token', 'user-agent']) {
    const v = header(req, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}
