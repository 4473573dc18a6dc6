import { inspect } from 'node:util';
import { failure } from '@ekm/domain';
import { ProviderFailure } from './failure-error.ts';

const REDACTED = '[TenantKey redacted]';

/**
 * A tenant's 256-bit key in plaintext, alive for one workflow only (EKM-19). It cannot
 * be serialised or printed (JSON, util.inspect, String all give a redacted marker), and
 * `drop()` zeroes the bytes so a revocation bites at the next workflow.
 */
export class TenantKey {
  readonly tenant: string;
  /** The tenant-key version recorded with each snapshot; changes only when a new tenant key is created. */
  readonly version: number;
  /** The KMS key that unwrapped it: what a snapshot taken in this workflow records as protecting it. */
  readonly keyArn: string;
  #bytes: Uint8Array;
  #dropped = false;

  /**
   * Copies `bytes` into a buffer of its own (the SDK hands out views into larger
   * response buffers, which the keyring refuses) and zeroes the original.
   */
  constructor(tenant: string, version: number, bytes: Uint8Array, keyArn: string) {
    if (bytes.byteLength !== 32) {
      bytes.fill(0);
      throw new ProviderFailure(failure('DataTampered', 'The tenant key does not have 256 bits.'));
    }
    this.tenant = tenant;
    this.version = version;
    this.keyArn = keyArn;
    this.#bytes = new Uint8Array(32);
    this.#bytes.set(bytes);
    bytes.fill(0);
  }

  get dropped(): boolean {
    return this.#dropped;
  }

  /**
   * Lends the bytes to `use` (synchronously, so they cannot escape into a later tick by
   * accident). Throws after `drop()`.
   */
  reveal<T>(use: (bytes: Uint8Array) => T): T {
    if (this.#dropped) {
      throw new ProviderFailure(failure('KeyAccessDenied', `The tenant key of ${this.tenant} was dropped at the end of its workflow; unwrap it again.`));
    }
    return use(this.#bytes);
  }

  /** Zeroes the key. Idempotent; call it in `finally` when the workflow ends. */
  drop(): void {
    this.#bytes.fill(0);
    this.#bytes = new Uint8Array(0);
    this.#dropped = true;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
