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

/** Runs `work` with `observer` learning every plaintext key it handles (none when `observer` is undefined). */
export function withKeyObserver<T>(observer: KeyMaterialObserver | undefined, work: () => T): T {
  return observer === undefined ? work() : scope.run(observer, work);
}

export function observingKeyMaterial(): boolean {
  return scope.getStore() !== undefined;
}

/** Hands the observer its own copy; the caller keeps (and zeroes) the original. */
export function noteKeyMaterial(plaintext: Uint8Array, kind: KeyMaterialKind): void {
  const observer = scope.getStore();
  observer?.(Uint8Array.from(plaintext), kind);
}
