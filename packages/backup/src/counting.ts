import type { KeyPort } from '@ekm/kms';

/** KMS calls one workflow made, counted at the port (the gateway's audit trail is the authority). */
export interface KmsCalls {
  total: number;
  readonly byOperation: Record<string, number>;
}

/** A view of `port` that counts every call made through it, failed ones included. */
export function countingPort(port: KeyPort): { readonly port: KeyPort; readonly calls: KmsCalls } {
  const calls: KmsCalls = { total: 0, byOperation: {} };
  const count = <T>(operation: string, call: () => T): T => {
    calls.total++;
    calls.byOperation[operation] = (calls.byOperation[operation] ?? 0) + 1;
    return call();
  };
  return {
    calls,
    port: {
      account: port.account,
      describe: (arn) => count('DescribeKey', () => port.describe(arn)),
      generateDataKey: (arn, ctx) => count('GenerateDataKey', () => port.generateDataKey(arn, ctx)),
      encrypt: (arn, plaintext, ctx) => count('Encrypt', () => port.encrypt(arn, plaintext, ctx)),
      decrypt: (arn, ciphertext, ctx) => count('Decrypt', () => port.decrypt(arn, ciphertext, ctx)),
      reEncrypt: (from, to, ciphertext, ctx) => count('ReEncrypt', () => port.reEncrypt(from, to, ciphertext, ctx)),
    },
  };
}
