import { FAILURES, isFailureCode, type Failure, type FailureCode } from '@ekm/domain';

/**
 * The provider side's one thrown shape: a domain Failure carried by an Error, so a stack trace
 * survives while callers branch on `failure.code` / `failure.kind`. `$fault` says whose side the
 * failure is on, as AWS SDK errors do: `server` for what a later try may cure (transient),
 * `client` for everything the caller or the customer's key must change.
 */
export class ProviderFailure extends Error {
  override readonly name: string = 'ProviderFailure';
  readonly failure: Failure;
  readonly $fault: 'client' | 'server';
  constructor(f: Failure, options?: { cause?: unknown }) {
    super(`${f.code}: ${f.message}`, options);
    this.failure = f;
    this.$fault = f.kind === 'transient' ? 'server' : 'client';
  }
  get code(): FailureCode {
    return this.failure.code;
  }
}

/** Something that carries a domain Failure of its own (a ProviderFailure, or a Graph client's error with a known code). */
interface CarriesFailure {
  readonly failure?: Failure | undefined;
}

/**
 * The one normalising boundary of the provider side: the Failure an error stands for, or
 * undefined when it is not an expected failure (a bug, a storage outage, an injected crash),
 * which the caller must let through. Errors that carry a Failure (`failure` getter) give it;
 * `fallback` names the failure of an error of a known class that carries none.
 */
export function toFailure(error: unknown, fallback?: (error: Error) => Failure | undefined): Failure | undefined {
  if (error instanceof ProviderFailure) return error.failure;
  if (error instanceof Error) {
    const carried = (error as CarriesFailure).failure;
    if (isFailure(carried)) return carried;
    return fallback?.(error);
  }
  return undefined;
}

function isFailure(value: unknown): value is Failure {
  if (typeof value !== 'object' || value === null) return false;
  const f = value as Partial<Failure>;
  return isFailureCode(f.code) && typeof f.message === 'string' && FAILURES[f.code].kind === f.kind;
}
