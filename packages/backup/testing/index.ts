/**
 * Test support for the reference provider: never imported by `src` or `conformance`.
 */
import { TENANT_KEY_PURPOSE, type KeyPort } from '@ekm/kms';

/**
 * A known bug, planted so the model-based explorer can show it finds one: the workflows' key port
 * keeps unwrapped tenant keys across workflows, so a revoked key keeps working (breaks EKM-12 and
 * EKM-19). Applied where the provider gets its key port:
 * `referenceProvider({ wrapKeyPort: staleTenantKeyCache })`.
 */
export function staleTenantKeyCache(port: KeyPort, use: 'console' | 'workflows' = 'workflows'): KeyPort {
  if (use === 'console') return port;
  const cache = new Map<string, Uint8Array>();
  return {
    account: port.account,
    describe: (arn) => port.describe(arn),
    generateDataKey: (arn, context) => port.generateDataKey(arn, context),
    encrypt: (arn, plaintext, context) => port.encrypt(arn, plaintext, context),
    reEncrypt: (from, to, ciphertext, context) => port.reEncrypt(from, to, ciphertext, context),
    async decrypt(arn, ciphertext, context) {
      if (context['purpose'] !== TENANT_KEY_PURPOSE) return port.decrypt(arn, ciphertext, context);
      const id = Buffer.from(ciphertext).toString('base64');
      const stale = cache.get(id);
      if (stale !== undefined) return Uint8Array.from(stale);
      const plaintext = await port.decrypt(arn, ciphertext, context);
      cache.set(id, Uint8Array.from(plaintext));
      return plaintext;
    },
  };
}
