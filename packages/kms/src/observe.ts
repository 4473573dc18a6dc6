import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Lets a secret scan learn every plaintext key this package handles (tenant keys from KMS, the
 * Encryption SDK's data keys), so it can prove none of them was written anywhere. The observer is
 * an option of whoever runs the work (`withKeyObserver`, the reference provider's `onKeyMaterial`):
 * it holds for that work and what it awaits, nowhere else. Nothing is kept here.
 */
export type KeyMaterialKind = 'tenant-key' | 'data-key';
export type KeyMaterialObserver = (plaintext: Uint8Array, kind: KeyMaterialKind) => void;

const scope = new AsyncLocalStorage<KeyMaterialObserver>();
/** The process-wide observer of `observeKeyMaterial`, kept until @ekm/scenario-runner passes `onKeyMaterial` instead. */
let global: KeyMaterialObserver | undefined;

/** Runs `work` with `observer` learning every plaintext key it handles (none when `observer` is undefined). */
export function withKeyObserver<T>(observer: KeyMaterialObserver | undefined, work: () => T): T {
  return observer === undefined ? work() : scope.run(observer, work);
}

/**
 * @deprecated A process-wide observer; pass `onKeyMaterial` to the reference provider (or run the
 * work in `withKeyObserver`) instead. Kept for @ekm/scenario-runner's world.ts until it moves.
 */
export function observeKeyMaterial(next: KeyMaterialObserver | undefined): void {
  global = next;
}

export function observingKeyMaterial(): boolean {
  return (scope.getStore() ?? global) !== undefined;
}

/** Hands the observer its own copy; the caller keeps (and zeroes) the original. */
export function noteKeyMaterial(plaintext: Uint8Array, kind: KeyMaterialKind): void {
  const observer = scope.getStore() ?? global;
  observer?.(Uint8Array.from(plaintext), kind);
}
