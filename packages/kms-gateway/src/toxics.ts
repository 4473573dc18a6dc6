/**
 * Faults after Toxiproxy's model: each toxic has a name, a type, a toxicity (the
 * probability that it fires on a matching call) and a scope, so that concurrent
 * scenarios sharing one gateway only disturb their own keys or accounts. Every toxic
 * draws from its own generator seeded from the gateway seed and its name, so a run
 * replays whatever other scenarios do meanwhile.
 */
export type ToxicType = 'throttle' | 'internal' | 'dependencyTimeout' | 'latency' | 'reset' | 'timeout';

export const TOXIC_TYPES: readonly ToxicType[] = ['throttle', 'internal', 'dependencyTimeout', 'latency', 'reset', 'timeout'];

export interface ToxicSpec {
  name: string;
  type: ToxicType;
  /** Probability in [0, 1] that the toxic fires on a matching call; 1 unless given. */
  toxicity?: number;
  /** KMS operation names (`Decrypt`); every operation when absent. */
  operations?: string[];
  /** Only calls on this key (ARN or key id). */
  keyArn?: string;
  /** Only calls made by, or on keys owned by, this account. */
  account?: string;
  /** latency: added delay and its +/- jitter; timeout: hang this long then drop (0: until the client gives up). */
  latencyMs?: number;
  jitterMs?: number;
  timeoutMs?: number;
  /** Fire at most this many times, then let calls through (a burst rather than an outage). */
  times?: number;
}

export interface Toxic extends Required<Pick<ToxicSpec, 'name' | 'type' | 'toxicity'>>, Omit<ToxicSpec, 'name' | 'type' | 'toxicity'> {
  hits: number;
}

export interface ToxicTarget {
  operation: string;
  callerAccount: string;
  keyArn?: string | undefined;
}

export interface ToxicOutcome {
  delayMs: number;
  /** The fault that fires, if any (never `latency`). */
  fault?: Toxic;
}

export class Toxics {
  readonly #toxics = new Map<string, { toxic: Toxic; random: () => number }>();
  constructor(private readonly seed: number) {}

  add(spec: ToxicSpec): Toxic {
    if (!TOXIC_TYPES.includes(spec.type)) throw new RangeError(`unknown toxic type ${String(spec.type)}`);
    const toxicity = spec.toxicity ?? 1;
    if (!(toxicity >= 0 && toxicity <= 1)) throw new RangeError('toxicity is a probability in [0, 1]');
    if (this.#toxics.has(spec.name)) throw new RangeError(`a toxic named ${spec.name} exists`);
    const toxic: Toxic = { ...spec, toxicity, hits: 0 };
    this.#toxics.set(spec.name, { toxic, random: mulberry32(hash(`${this.seed}:${spec.name}`)) });
    return toxic;
  }

  remove(name: string): boolean {
    return this.#toxics.delete(name);
  }

  /** Removes all toxics, or those scoped to one account or key. */
  reset(scope: { account?: string; keyArn?: string } = {}): number {
    let n = 0;
    for (const [name, { toxic }] of this.#toxics) {
      if (scope.account !== undefined && toxic.account !== scope.account) continue;
      if (scope.keyArn !== undefined && toxic.keyArn !== scope.keyArn) continue;
      this.#toxics.delete(name);
      n++;
    }
    return n;
  }

  list(): Toxic[] {
    return [...this.#toxics.values()].map(({ toxic }) => ({ ...toxic }));
  }

  /** Rolls every matching toxic, in the order they were added: latencies add up, the first fault wins. */
  roll(target: ToxicTarget): ToxicOutcome {
    const outcome: ToxicOutcome = { delayMs: 0 };
    for (const { toxic, random } of this.#toxics.values()) {
        if (!applies(toxic, target)) continue;
      if (toxic.times !== undefined && toxic.hits >= toxic.times) continue;
      if (random() >= toxic.toxicity) continue;
      if (toxic.type === 'latency') {
        const jitter = toxic.jitterMs ?? 0;
        outcome.delayMs += Math.max(0, (toxic.latencyMs ?? 0) + (random() * 2 - 1) * jitter);
        toxic.hits++;
      } else if (outcome.fault === undefined) {
        outcome.fault = toxic;
        toxic.hits++;
      }
    }
    return outcome;
  }
}

function applies(toxic: Toxic, target: ToxicTarget): boolean {
  if (toxic.operations !== undefined && toxic.operations.length > 0 && !toxic.operations.includes(target.operation)) {
    return false;
  }
  if (toxic.keyArn !== undefined) {
    if (target.keyArn === undefined) return false;
    if (target.keyArn !== toxic.keyArn && !target.keyArn.endsWith(`:key/${toxic.keyArn}`)) return false;
  }
  if (toxic.account !== undefined) {
    const keyAccount = target.keyArn?.split(':')[4];
    if (target.callerAccount !== toxic.account && keyAccount !== toxic.account) return false;
  }
  return true;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
