import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  generateKeyPair,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { DAY_MS } from './clock.ts';
import { KmsError, messages } from './errors.ts';

/**
 * Imported key material as AWS treats it, which LocalStack does not:
 * - an import token belongs to the key it was issued for and lasts 24 hours
 *   (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html);
 * - once material was imported, only the same material may be imported again, after expiry
 *   or DeleteImportedKeyMaterial too
 *   (https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html).
 *
 * To know "the same material" the gateway must see it, so it hands out its own wrapping key
 * and token, unwraps the material, and re-wraps it for LocalStack. The material lives only in
 * memory for that call and is zeroed after; what stays is an HMAC of it under a key drawn at
 * start, never written anywhere, so it identifies material without revealing it.
 */
export const WRAPPING_ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as const;
const KEY_SPEC_BITS: Record<string, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };
/** RFC 5649 (AES key wrap with padding) initial value, as node's id-aes256-wrap-pad expects it. */
const KWP_IV = Buffer.from('A65959A6', 'hex');

interface IssuedToken {
  keyArn: string;
  algorithm: string;
  privateKey: KeyObject;
  validTo: Date;
}

export class ImportBroker {
  readonly #hmacKey = randomBytes(32);
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #fingerprints = new Map<string, Buffer>();

  /** A wrapping key pair and token for `keyArn`, valid 24 hours from `now`. */
  async issue(keyArn: string, algorithm: string, keySpec: string, now: Date): Promise<{ ImportToken: string; PublicKey: string; ParametersValidTo: number }> {
    if (!(WRAPPING_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new KmsError('ValidationException', `WrappingAlgorithm '${algorithm}' is not one the gateway unwraps; use one of ${WRAPPING_ALGORITHMS.join(', ')}`);
    }
    const bits = KEY_SPEC_BITS[keySpec];
    if (bits === undefined) {
      throw new KmsError('ValidationException', `1 validation error detected: Value '${keySpec}' at 'wrappingKeySpec' failed to satisfy constraint: Member must satisfy enum value set: [${Object.keys(KEY_SPEC_BITS).join(', ')}]`);
    }
    // Off the event loop: a 4096-bit key takes seconds, and the gateway often runs inside its caller.
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: bits });
    const token = randomBytes(48).toString('base64');
    const validTo = new Date(now.getTime() + DAY_MS);
    this.#tokens.set(token, { keyArn, algorithm, privateKey, validTo });
    return { ImportToken: token, PublicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), ParametersValidTo: validTo.getTime() / 1000 };
  }

  /**
   * Checks the token and the material and hands the unwrapped material to `use` (which
   * re-wraps it for LocalStack); the material is zeroed when `use` settles. The fingerprint
   * is kept once `imported` says the import succeeded.
   */
  async unwrap<T>(keyArn: string, token: string, wrapped: Buffer, now: Date, use: (material: Buffer) => Promise<T>, imported: (result: T) => boolean): Promise<T> {
    const issued = this.#tokens.get(token);
    if (issued === undefined || issued.keyArn !== keyArn) throw new KmsError('InvalidImportTokenException', messages.invalidImportToken());
    if (now >= issued.validTo) throw new KmsError('ExpiredImportTokenException', messages.expiredImportToken());
    let material: Buffer;
    try {
      material = unwrapMaterial(issued.algorithm, issued.privateKey, wrapped);
    } catch {
      throw new KmsError('InvalidCiphertextException', 'The EncryptedKeyMaterial cannot be unwrapped with the public key and algorithm of this import token.');
    }
    try {
      const fingerprint = createHmac('sha256', this.#hmacKey).update(keyArn).update('\0').update(material).digest();
      const before = this.#fingerprints.get(keyArn);
      if (before !== undefined && !timingSafeEqual(before, fingerprint)) {
        throw new KmsError('IncorrectKeyMaterialException', messages.incorrectKeyMaterial());
      }
      const result = await use(material);
      if (imported(result)) this.#fingerprints.set(keyArn, fingerprint);
      return result;
    } finally {
      material.fill(0);
    }
  }

  /** A key that is deleted for good forgets its tokens and material fingerprint. */
  forgetKey(keyArn: string): void {
    this.#fingerprints.delete(keyArn);
    for (const [token, issued] of this.#tokens) if (issued.keyArn === keyArn) this.#tokens.delete(token);
  }
}

/** Wraps `material` as AWS's RSA_AES_KEY_WRAP_SHA_256 does: RSA-OAEP(SHA-256) of a fresh AES-256 key, then RFC 5649 of the material. */
export function wrapForUpload(publicKeyDer: Buffer, material: Buffer): Buffer {
  const aesKey = randomBytes(32);
  try {
    const key = { key: publicKeyDer, format: 'der', type: 'spki', padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;
    const cipher = createCipheriv('id-aes256-wrap-pad', aesKey, KWP_IV);
    return Buffer.concat([publicEncrypt(key, aesKey), cipher.update(material), cipher.final()]);
  } finally {
    aesKey.fill(0);
  }
}

function unwrapMaterial(algorithm: string, privateKey: KeyObject, wrapped: Buffer): Buffer {
  const oaepHash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  const rsa = { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash };
  if (algorithm.startsWith('RSAES_OAEP')) return privateDecrypt(rsa, wrapped);
  const size = (privateKey.asymmetricKeyDetails?.modulusLength ?? 2048) / 8;
  const aesKey = privateDecrypt(rsa, wrapped.subarray(0, size));
  try {
    const decipher = createDecipheriv('id-aes256-wrap-pad', aesKey, KWP_IV);
    return Buffer.concat([decipher.update(wrapped.subarray(size)), decipher.final()]);
  } finally {
    aesKey.fill(0);
  }
}
