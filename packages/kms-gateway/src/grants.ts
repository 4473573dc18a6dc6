import { principalMatches } from './policy.ts';

/**
 * Grants as the gateway enforces them. LocalStack stores grants (CreateGrant is still
 * forwarded, so ListGrants answers from LocalStack) but never consults them; the
 * gateway keeps its own copy of each grant it saw created and drops it on RevokeGrant
 * and RetireGrant.
 */
export interface Grant {
  grantId: string;
  grantToken: string;
  keyArn: string;
  granteePrincipal: string;
  retiringPrincipal?: string | undefined;
  operations: string[];
  constraints?: { EncryptionContextEquals?: Record<string, string>; EncryptionContextSubset?: Record<string, string> } | undefined;
  name?: string | undefined;
}

export interface GrantCall {
  operation: string;
  principalArn: string;
  principalAccount: string;
  keyArn: string;
  encryptionContext: Record<string, string>;
}

export class GrantStore {
  readonly #byId = new Map<string, Grant>();

  add(grant: Grant): void {
    this.#byId.set(grant.grantId, grant);
  }

  /** Removes by grant id or token; returns the grant removed. */
  remove(ref: { grantId?: string; grantToken?: string }): Grant | undefined {
    for (const g of this.#byId.values()) {
      if ((ref.grantId !== undefined && g.grantId === ref.grantId) || (ref.grantToken !== undefined && g.grantToken === ref.grantToken)) {
        this.#byId.delete(g.grantId);
        return g;
      }
    }
    return undefined;
  }

  forKey(keyArn: string): Grant[] {
    return [...this.#byId.values()].filter((g) => g.keyArn === keyArn);
  }

  /** The grant that allows this call, if any. */
  allowing(call: GrantCall): Grant | undefined {
    return this.forKey(call.keyArn).find(
      (g) =>
        g.operations.includes(call.operation) &&
        principalMatches({ AWS: g.granteePrincipal }, call) &&
        constraintsHold(g.constraints, call.encryptionContext),
    );
  }
}

export function constraintsHold(constraints: Grant['constraints'], context: Record<string, string>): boolean {
  if (constraints === undefined) return true;
  const { EncryptionContextEquals: equals, EncryptionContextSubset: subset } = constraints;
  if (equals !== undefined) {
    const a = Object.entries(equals);
    if (a.length !== Object.keys(context).length || a.some(([k, v]) => context[k] !== v)) return false;
  }
  if (subset !== undefined && Object.entries(subset).some(([k, v]) => context[k] !== v)) return false;
  return true;
}
