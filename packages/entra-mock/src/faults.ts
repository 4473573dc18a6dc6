/** What a faulted request answers instead of being served. */
export type GraphFault = { readonly status: 429; readonly retryAfterSeconds: number } | { readonly status: 503; readonly retryAfterSeconds: number };

/** Seeded so a "fraction" storm throttles the same requests on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Faults of one tenant's Graph, consulted once per authenticated Graph request
 * (the token endpoint is never faulted). Counted faults are used up before the fraction applies.
 */
export class TenantFaults {
  private throttleCount = 0;
  private unavailableCount = 0;
  private throttleRetryAfter = 1;
  private unavailableRetryAfter = 1;
  private fraction = 0;
  private fractionRetryAfter = 1;
  private random: () => number = () => 1;
  /** Requests answered with a fault so far; tests assert a storm really happened. */
  faulted = 0;
  /** Requests still to serve normally before counted faults start (a fault half-way through a backup). */
  private skip = 0;
  /** Only requests whose path (lower case, without /v1.0) starts with this are faulted. */
  private path: string | undefined;

  /**
   * Where the next counted faults apply: after `after` requests served normally, and only to
   * requests under `path` (e.g. `/groups`), so a failure can land half-way through a workflow.
   */
  scope(options: { readonly after?: number; readonly path?: string }): void {
    this.skip = options.after ?? 0;
    this.path = options.path === undefined ? undefined : options.path.toLowerCase().replace(/^\/v1\.0/, '');
  }

  /** The next `n` Graph requests answer 429 TooManyRequests with `Retry-After`. */
  throttleNext(n: number, retryAfterSeconds = 1): void {
    this.throttleCount = n;
    this.throttleRetryAfter = retryAfterSeconds;
  }

  /** Each Graph request answers 429 with probability `fraction`, drawn from `seed`. */
  throttleFraction(fraction: number, seed: number, retryAfterSeconds = 1): void {
    this.fraction = fraction;
    this.random = mulberry32(seed);
    this.fractionRetryAfter = retryAfterSeconds;
  }

  /** The next `n` Graph requests answer 503 ServiceUnavailable with `Retry-After`. */
  unavailableNext(n: number, retryAfterSeconds = 1): void {
    this.unavailableCount = n;
    this.unavailableRetryAfter = retryAfterSeconds;
  }

  clear(): void {
    this.throttleCount = 0;
    this.unavailableCount = 0;
    this.fraction = 0;
    this.skip = 0;
    this.path = undefined;
  }

  /** Decides the fate of one request (its URL path, for a scoped fault). */
  next(requestPath = ''): GraphFault | undefined {
    if (this.path !== undefined && !requestPath.toLowerCase().replace(/^\/v1\.0/, '').startsWith(this.path)) return undefined;
    if (this.skip > 0 && (this.unavailableCount > 0 || this.throttleCount > 0)) {
      this.skip--;
      return undefined;
    }
    let fault: GraphFault | undefined;
    if (this.unavailableCount > 0) {
      this.unavailableCount--;
      fault = { status: 503, retryAfterSeconds: this.unavailableRetryAfter };
    } else if (this.throttleCount > 0) {
      this.throttleCount--;
      fault = { status: 429, retryAfterSeconds: this.throttleRetryAfter };
    } else if (this.fraction > 0 && this.random() < this.fraction) {
      fault = { status: 429, retryAfterSeconds: this.fractionRetryAfter };
    }
    if (fault !== undefined) this.faulted++;
    return fault;
  }
}
