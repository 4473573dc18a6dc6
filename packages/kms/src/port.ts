/** KMS encryption context: every call names at least the purpose, and the tenant where there is one (EKM-20). */
export type EncryptionContext = Readonly<Record<string, string>>;

/** What DescribeKey says about a key, reduced to what validation checks (EKM-04, EKM-05, EKM-06). */
export interface KeyDescription {
  readonly arn: string;
  readonly account: string;
  readonly state: string;
  readonly keySpec: string;
  readonly keyUsage: string;
  readonly origin: string;
  readonly multiRegion: boolean;
  /** Only for imported material that expires. */
  readonly validTo?: Date;
}

/**
 * What the provider needs from a KMS. Every method takes the key ARN explicitly (the
 * provider never relies on a default key) and an encryption context, and throws only
 * `ProviderFailure` carrying a domain Failure. Plaintext returned by `generateDataKey` and
 * `decrypt` belongs to the caller, who must zero it.
 */
export interface KeyPort {
  /** The provider's 12-digit account, the principal a customer's key policy must allow. */
  readonly account: string;
  describe(keyArn: string): Promise<KeyDescription>;
  generateDataKey(keyArn: string, context: EncryptionContext): Promise<{ plaintext: Uint8Array; ciphertext: Uint8Array }>;
  encrypt(keyArn: string, plaintext: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
  decrypt(keyArn: string, ciphertext: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
  /** Moves a ciphertext from one key to another inside KMS; the plaintext never leaves KMS. */
  reEncrypt(fromKeyArn: string, toKeyArn: string, ciphertext: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
}
