import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The gateway's own share of each KMS call's time: from the request body read to the answer
 * written, less the time the call waited on LocalStack (the union of its outstanding upstream
 * calls, including a key's cached metadata or policy another call is fetching). Calls a toxic
 * delayed, dropped or failed on purpose are left out: their time is the fault's, not the gateway's.
 */
interface Waits {
  readonly started: number;
  outstanding: number;
  since: number;
  upstreamMs: number;
  /** A toxic acted on the call. */
  skip: boolean;
  /** When the answer was ready to be written (see `answering`). */
  answeredAt: number | undefined;
}

const current = new AsyncLocalStorage<Waits>();

/**
 * Counts the time until `p` settles as upstream time of the KMS call it is awaited for. Given a
 * function, the count starts before it runs: sending the request is the upstream's share too (the
 * write is where a loaded machine hands the core to the woken LocalStack).
 */
export function waitingUpstream<T>(p: Promise<T> | (() => Promise<T>)): Promise<T> {
  const w = current.getStore();
  if (w === undefined) return typeof p === 'function' ? p() : p;
  if (w.outstanding++ === 0) w.since = performance.now();
  const done = () => {
    if (--w.outstanding === 0) w.upstreamMs += performance.now() - w.since;
  };
  let pending: Promise<T>;
  try {
    pending = typeof p === 'function' ? p() : p;
  } catch (error) {
    done();
    throw error;
  }
  return pending.then(
    (v) => {
      done();
      return v;
    },
    (e: unknown) => {
      done();
      throw e;
    },
  );
}

/** The current call's time is the fault's: it is not sampled. */
export function notSampled(): void {
  const w = current.getStore();
  if (w !== undefined) w.skip = true;
}

/**
 * The current call's answer is about to be written: its share ends here. The write itself is the
 * network's (a server's processing time ends where its response starts, as a load balancer's
 * target processing time does); on a loaded machine the write is also where the kernel hands the
 * core to the woken reader, and that wait is the machine's, not the gateway's.
 */
export function answering(): void {
  const w = current.getStore();
  if (w !== undefined) w.answeredAt ??= performance.now();
}

export interface LatencySummary {
  /** Calls sampled since the last reset (the percentiles are over the last `window` of them). */
  readonly count: number;
  readonly window: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/** Added latency per call, in a ring of the last `capacity` samples. */
export class AddedLatency {
  readonly #ring: Float64Array;
  #count = 0;

  constructor(capacity = 20_000) {
    this.#ring = new Float64Array(capacity);
  }

  /** Runs one KMS call's handling and samples its added latency when it ends. */
  async track(handle: () => Promise<void>): Promise<void> {
    const w: Waits = { started: performance.now(), outstanding: 0, since: 0, upstreamMs: 0, skip: false, answeredAt: undefined };
    try {
      await current.run(w, handle);
    } finally {
      if (!w.skip) this.record(Math.max(0, (w.answeredAt ?? performance.now()) - w.started - w.upstreamMs));
    }
  }

  record(ms: number): void {
    this.#ring[this.#count++ % this.#ring.length] = ms;
  }

  reset(): void {
    this.#count = 0;
  }

  summary(): LatencySummary {
    const n = Math.min(this.#count, this.#ring.length);
    const sorted = this.#ring.slice(0, n).sort();
    const at = (q: number) => (n === 0 ? null : Math.round(sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]! * 1000) / 1000);
    return { count: this.#count, window: n, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
  }
}
