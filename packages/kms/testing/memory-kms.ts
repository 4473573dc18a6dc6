import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { classify } from '../src/classify.ts';
import { ProviderFailure } from '../src/failure-error.ts';
import type { EncryptionContext, KeyDescription, KeyPort } from '../src/port.ts';

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface MemoryKey {
  state: KeyState;
  readonly material: Buffer;
  /** Whether the key policy allows kms:ReEncrypt* (else rewrap must Decrypt + Encrypt). */
  reEncrypt: boolean;
}

/** An SDK-shaped error, so the fake goes through the same classifier as the adapter. */
function sdkError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

/**
 * An in-process KeyPort for unit tests of code that uses keys (no LocalStack): symmetric
 * keys with AES-256-GCM, the encryption context as AAD, key states, and a call log that
 * counts KMS calls like the gateway's audit trail does.
 */
export class MemoryKms implements KeyPort {
  readonly account: string;
  readonly region: string;
  readonly calls: { operation: string; keyArn: string; context: EncryptionContext }[] = [];
  /** Thrown, SDK-shaped, by the next calls (one per element), e.g. to inject throttling. */
  readonly faults: Error[] = [];
  readonly #keys = new Map<string, MemoryKey>();

  constructor(account = '999988887777', region = 'us-east-1') {
    this.account = account;
    this.region = region;
  }

  createKey(owner = this.account): string {
    const arn = `arn:aws:kms:${this.region}:${owner}:key/${randomUUID()}`;
    this.#keys.set(arn, { state: 'Enabled', material: randomBytes(32), reEncrypt: true });
    return arn;
  }

  setState(keyArn: string, state: KeyState): void {
    this.#key(keyArn).state = state;
  }

  /** The key's deletion completes (waiting period over): every later call on it is NotFoundException, as in AWS KMS. */
  destroy(keyArn: string): void {
    this.#key(keyArn).material.fill(0);
    this.#keys.delete(keyArn);
  }

  /** Models a key policy that allows Decrypt/Encrypt but not kms:ReEncrypt*. */
  denyReEncrypt(keyArn: string): void {
    this.#key(keyArn).reEncrypt = false;
  }

  async describe(keyArn: string): Promise<KeyDescription> {
    return this.#call(
      'DescribeKey',
      keyArn,
      {},
      (key) => ({
        arn: keyArn,
        account: keyArn.split(':')[4] ?? '',
        state: key.state,
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        origin: 'AWS_KMS',
        multiRegion: false,
      }),
      false,
    );
  }

  async generateDataKey(keyArn: string, context: EncryptionContext) {
    return this.#call('GenerateDataKey', keyArn, context, (key) => {
      const plaintext = new Uint8Array(randomBytes(32));
      return { plaintext, ciphertext: seal(keyArn, key, plaintext, context) };
    });
  }

  async encrypt(keyArn: string, plaintext: Uint8Array, context: EncryptionContext) {
    return this.#call('Encrypt', keyArn, context, (key) => seal(keyArn, key, plaintext, context));
  }

  async decrypt(keyArn: string, ciphertext: Uint8Array, context: EncryptionContext) {
    return this.#call('Decrypt', keyArn, context, (key) => open(keyArn, key, ciphertext, context));
  }

  async reEncrypt(fromKeyArn: string, toKeyArn: string, ciphertext: Uint8Array, context: EncryptionContext) {
    return this.#call('ReEncrypt', fromKeyArn, context, (from) => {
      const to = this.#usable(toKeyArn);
      if (!from.reEncrypt || !to.reEncrypt) throw sdkError('AccessDeniedException', 'not authorized to perform kms:ReEncrypt*');
      const plaintext = open(fromKeyArn, from, ciphertext, context);
      try {
        return seal(toKeyArn, to, plaintext, context);
      } finally {
        plaintext.fill(0);
      }
    });
  }

  #key(keyArn: string): MemoryKey {
    const key = this.#keys.get(keyArn);
    if (key === undefined) throw sdkError('NotFoundException', `Key '${keyArn}' does not exist`);
    return key;
  }

  #usable(keyArn: string): MemoryKey {
    const key = this.#key(keyArn);
    if (key.state === 'Disabled') throw sdkError('DisabledException', `${keyArn} is disabled.`);
    if (key.state === 'PendingDeletion') throw sdkError('KMSInvalidStateException', `${keyArn} is pending deletion.`);
    return key;
  }

  async #call<T>(operation: string, keyArn: string, context: EncryptionContext, run: (key: MemoryKey) => T, needsEnabled = true): Promise<T> {
    this.calls.push({ operation, keyArn, context });
    try {
      const fault = this.faults.shift();
      if (fault !== undefined) throw fault;
      return run(needsEnabled ? this.#usable(keyArn) : this.#key(keyArn));
    } catch (error) {
      throw new ProviderFailure(classify(error, { operation, keyArn, account: this.account, keyKnown: operation === 'Decrypt' || operation === 'ReEncrypt' }), {
        cause: error,
      });
    }
  }
}

// The key ARN is bound through the AAD, so a blob presented with another key fails, as in KMS.
function aad(keyArn: string, context: EncryptionContext): Buffer {
  const sorted = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return Buffer.from(JSON.stringify([keyArn, sorted]));
}

function seal(keyArn: string, key: MemoryKey, plaintext: Uint8Array, context: EncryptionContext): Uint8Array {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.material, iv).setAAD(aad(keyArn, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([iv, cipher.getAuthTag(), body]));
}

function open(keyArn: string, key: MemoryKey, blob: Uint8Array, context: EncryptionContext): Uint8Array {
  const b = Buffer.from(blob);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.material, b.subarray(0, 12)).setAAD(aad(keyArn, context));
    decipher.setAuthTag(b.subarray(12, 28));
    return new Uint8Array(Buffer.concat([decipher.update(b.subarray(28)), decipher.final()]));
  } catch {
    throw sdkError('InvalidCiphertextException', 'The ciphertext is invalid or the encryption context does not match.');
  }
}
