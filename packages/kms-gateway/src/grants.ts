import { factsOf } from './operations.ts';
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
  constraints?: Constraints | undefined;
  name?: string | undefined;
}

export interface Constraints {
  EncryptionContextEquals?: Record<string, string>;
  EncryptionContextSubset?: Record<string, string>;
}

export interface GrantCall {
  /** The grant operation: the call's name, or ReEncryptFrom / ReEncryptTo. */
  operation: string;
  principalArn: string;
  principalAccount: string;
  keyArn: string;
  encryptionContext: Record<string, string>;
}

/** The grant operations whose requests carry an encryption context (ReEncrypt counts as its two halves). */
function takesContext(operation: string): boolean {
  return operation === 'ReEncryptFrom' || operation === 'ReEncryptTo' || factsOf(operation).context === true;
}

export class GrantStore {
  readonly #byId = new Map<string, Grant>();

  add(grant: Grant): void {
    this.#byId.set(grant.grantId, grant);
  }

  /** The grant a RetireGrant/RevokeGrant names: by token, or by id on the key. */
  find(ref: { grantId?: string | undefined; grantToken?: string | undefined; keyArn?: string | undefined }): Grant | undefined {
    for (const g of this.#byId.values()) {
      if (ref.grantToken !== undefined && g.grantToken === ref.grantToken) return g;
      if (ref.grantToken === undefined && ref.grantId !== undefined && g.grantId === ref.grantId && (ref.keyArn === undefined || g.keyArn === ref.keyArn)) return g;
    }
    return undefined;
  }

  /** Removes by grant id or token; returns the grant removed. */
  remove(ref: { grantId?: string; grantToken?: string }): Grant | undefined {
    const g = this.find(ref);
    if (g) this.#byId.delete(g.grantId);
    return g;
  }

  forKey(keyArn: string): Grant[] {
    return [...this.#byId.values()].filter((g) => g.keyArn === keyArn);
  }

  /**
   * The grant that allows this call, if any. Constraints apply only to operations that take
   * an encryption context; a constrained grant still allows e.g. DescribeKey
   * (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html).
   */
  allowing(call: GrantCall): Grant | undefined {
    return this.forKey(call.keyArn).find(
      (g) =>
        g.operations.includes(call.operation) &&
        principalMatches({ AWS: g.granteePrincipal }, call) &&
        (!takesContext(call.operation) || constraintsHold(g.constraints, call.encryptionContext)),
    );
  }

  /**
   * RetireGrant as AWS authorises it (https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html):
   * the grant's retiring principal, its grantee when the grant includes RetireGrant, or the
   * account in which the grant was created (the key's account).
   */
  static mayRetire(grant: Grant, caller: { principalArn: string; principalAccount: string }, keyAccount: string): boolean {
    if (caller.principalAccount === keyAccount) return true;
    if (grant.retiringPrincipal !== undefined && principalMatches({ AWS: grant.retiringPrincipal }, caller)) return true;
    return grant.operations.includes('RetireGrant') && principalMatches({ AWS: grant.granteePrincipal }, caller);
  }
}

/** Keys of a grant constraint are not case sensitive, values are (GrantConstraints). */
function lowerKeys(pairs: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(pairs).map(([k, v]) => [k.toLowerCase(), v]));
}

export function constraintsHold(constraints: Constraints | undefined, context: Record<string, string>): boolean {
  if (constraints === undefined) return true;
  const { EncryptionContextEquals: equals, EncryptionContextSubset: subset } = constraints;
  const given = lowerKeys(context);
  if (equals !== undefined) {
    const want = lowerKeys(equals);
    if (want.size !== given.size || [...want].some(([k, v]) => given.get(k) !== v)) return false;
  }
  if (subset !== undefined && [...lowerKeys(subset)].some(([k, v]) => given.get(k) !== v)) return false;
  return true;
}

/**
 * A grant created on the strength of a constrained grant must be equally strict or stricter
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html, Constraints):
 * every context the child allows must satisfy the parent.
 */
export function atLeastAsStrict(parent: Constraints | undefined, child: Constraints | undefined): boolean {
  if (parent === undefined || (parent.EncryptionContextEquals === undefined && parent.EncryptionContextSubset === undefined)) return true;
  if (child?.EncryptionContextEquals !== undefined) return constraintsHold(parent, child.EncryptionContextEquals);
  if (child?.EncryptionContextSubset !== undefined) {
    // A subset constraint allows any superset context, so the parent must not need exact equality.
    if (parent.EncryptionContextEquals !== undefined) return false;
    return constraintsHold({ EncryptionContextSubset: parent.EncryptionContextSubset! }, child.EncryptionContextSubset);
  }
  return false;
}
