/**
 * Test only: lets a secret scan learn every plaintext key this package handles (tenant
 * keys from KMS, the Encryption SDK's data keys), so it can prove none of them was
 * written anywhere. Off unless a test or `ekm run`'s scan turns it on; nothing is kept here.
 */
export type KeyMaterialKind = 'tenant-key' | 'data-key';
export type KeyMaterialObserver = (plaintext: Uint8Array, kind: KeyMaterialKind) => void;

let observer: KeyMaterialObserver | undefined;

export function observeKeyMaterial(next: KeyMaterialObserver | undefined): void {
  observer = next;
}

export function observingKeyMaterial(): boolean {
  return observer !== undefined;
}

/** Hands the observer its own copy; the caller keeps (and zeroes) the original. */
export function noteKeyMaterial(plaintext: Uint8Array, kind: KeyMaterialKind): void {
  observer?.(Uint8Array.from(plaintext), kind);
}
