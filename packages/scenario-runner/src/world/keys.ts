/**
 * The domain's key lifecycle, run beside the customer's real keys: every key operation a
 * scenario makes is also decided by the model, so the report can say which key transitions
 * (`key.<command>.<state>`) the suite exercised; `AccountMirror` decides the account's on the same state.
 */
import { decide, initialAccount, type AccountState, type KeyCommand, type KeySpec, type KeyUsage } from '@ekm/domain';

const SPECS = new Set<string>(['SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_4096', 'ECC_NIST_P256', 'HMAC_256']);

export class KeyMirror {
  #state: AccountState;
  readonly #transitions: string[];
  /** When each key's deletion completes, and when its imported material expires, in scenario time. */
  readonly #deletions = new Map<string, number>();
  readonly #expiries = new Map<string, number>();
  readonly #access = new Map<string, boolean>();

  constructor(transitions: string[], initial: AccountState = initialAccount({ activated: true })) {
    this.#transitions = transitions;
    this.#state = initial;
  }

  /** The whole model state: the account mirror decides account commands on the same state. */
  get state(): AccountState {
    return this.#state;
  }

  set state(next: AccountState) {
    this.#state = next;
  }

  #apply(command: KeyCommand): void {
    const d = decide(this.#state, command);
    this.#state = d.state;
    this.#transitions.push(d.transition);
  }

  created(arn: string, shape: { spec: string; usage: string; origin: string; multiRegion: boolean }, providerAllowed: boolean): void {
    this.#apply({
      type: 'createKey',
      arn,
      shape: {
        // The model knows a few specs by name; any other asymmetric or HMAC spec behaves like them.
        spec: (SPECS.has(shape.spec)
          ? shape.spec
          : shape.spec.startsWith('HMAC')
            ? 'HMAC_256'
            : shape.spec.startsWith('ECC')
              ? 'ECC_NIST_P256'
              : 'RSA_2048') as KeySpec,
        usage: shape.usage as KeyUsage,
        origin: shape.origin === 'EXTERNAL' ? 'EXTERNAL' : 'AWS_KMS',
        multiRegion: shape.multiRegion,
      },
    });
    this.#access.set(arn, true);
    this.access(arn, providerAllowed);
  }

  /** The provider's access as the key policy and grants now give it. */
  access(arn: string, allowed: boolean): void {
    if (this.#access.get(arn) === allowed) return;
    this.#access.set(arn, allowed);
    this.#apply({ type: allowed ? 'allowAccess' : 'denyAccess', arn });
  }

  disabled(arn: string): void {
    this.#apply({ type: 'disableKey', arn });
  }

  enabled(arn: string): void {
    this.#apply({ type: 'enableKey', arn });
  }

  deletionScheduled(arn: string, dueAt: number): void {
    this.#deletions.set(arn, dueAt);
    this.#apply({ type: 'scheduleDeletion', arn });
  }

  deletionCancelled(arn: string): void {
    this.#deletions.delete(arn);
    this.#apply({ type: 'cancelDeletion', arn });
  }

  materialImported(arn: string, expiresAt: number | undefined): void {
    if (expiresAt === undefined) this.#expiries.delete(arn);
    else this.#expiries.set(arn, expiresAt);
    this.#apply({ type: 'reimportMaterial', arn });
  }

  materialDeleted(arn: string): void {
    this.#expiries.delete(arn);
    this.#apply({ type: 'deleteMaterial', arn });
  }

  rotated(arn: string): void {
    this.#apply({ type: 'rotateKey', arn });
  }

  /** Time moved on: deletions whose waiting period ended complete, expired material goes. */
  clock(now: number): void {
    for (const [arn, due] of [...this.#deletions]) {
      if (due <= now) {
        this.#deletions.delete(arn);
        this.#apply({ type: 'deletionDue', arn });
      }
    }
    for (const [arn, at] of [...this.#expiries]) {
      if (at <= now) {
        this.#expiries.delete(arn);
        this.#apply({ type: 'deleteMaterial', arn });
      }
    }
  }
}
