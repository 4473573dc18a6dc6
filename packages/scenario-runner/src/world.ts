/**
 * The seam between a run and the world it runs in (LocalStack + KMS gateway + MSW
 * tenant + provider). INTERIM: the world is not built yet, so `openWorld` hands out
 * the unwired executor; the real one replaces this body, keeping the signature.
 */
import type { Executor } from './schedule.ts';
import { unwiredExecutor } from './unwired.ts';
import { transitionIds } from './catalogue.ts';

export const LOCALSTACK_MODES = ['auto', 'host', 'docker', 'external'] as const;
export type LocalstackMode = (typeof LOCALSTACK_MODES)[number];

export interface WorldOptions {
  readonly localstack: LocalstackMode;
  /** An already running LocalStack (or AWS-compatible KMS) endpoint. */
  readonly endpoint?: string;
  readonly signal?: AbortSignal;
}

export interface World {
  readonly executor: Executor;
  /** Every transition id of the EKM state machine, for `transitions.total`. */
  readonly transitions: readonly string[];
  /** Stops whatever the world started; safe to call twice. */
  close(): Promise<void>;
}

export async function openWorld(_options: WorldOptions): Promise<World> {
  return { executor: unwiredExecutor, transitions: transitionIds(), close: async () => {} };
}
