import { describe, expect, it } from 'vitest';
import { recordedParameters } from './audit.ts';

describe('audit', () => {
  it('[EKM-11] records key id and encryption context, never plaintext, ciphertext or import material', () => {
    const params = recordedParameters({
      KeyId: 'k',
      EncryptionContext: { tenant: 't' },
      Plaintext: 'c2VjcmV0',
      CiphertextBlob: 'YmxvYg==',
      ImportToken: 'dG9r',
      EncryptedKeyMaterial: 'bWF0',
      Policy: '{}',
    });
    expect(params).toEqual({ keyId: 'k', encryptionContext: { tenant: 't' } });
    expect(recordedParameters({ Plaintext: 'x' })).toBeNull();
  });
});
