/**
 * Writes Encryption SDK messages (format v2, framed, no signature) with the SDK's own materials:
 * its keyring wraps the data key, its `getEncryptHelper` derives the frame key and the key
 * commitment (HKDF). Only the framing is done here, with node:crypto
 * AES-GCM straight on each frame: the SDK's encrypt streams spend more time in stream plumbing
 * and copies than in AES (see bench/pipeline.ts).
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import {
  CommitmentPolicy,
  CommitmentPolicySuites,
  getEncryptHelper,
  KeyringTraceFlag,
  NodeAlgorithmSuite,
  NodeEncryptionMaterial,
  type AlgorithmSuiteIdentifier,
  type KeyringNode,
} from '@aws-crypto/client-node';
import { FINAL, FINAL_OVERHEAD, FRAME_OVERHEAD, frameAad, frameIv, HEADER_IV, MESSAGE_ID, serializeContext, serializeHeader, TAG } from './format.ts';

type Cipher = ReturnType<ReturnType<ReturnType<typeof getEncryptHelper>['getCipherInfo']>['getCipher']>;

export class Sealer {
  /** The message header with its authentication tag. */
  readonly header: Buffer;
  readonly frameLength: number;
  readonly #messageId: Buffer;
  readonly #getCipher: (iv: Uint8Array) => Cipher;
  readonly #dispose: () => void;
  #seq = 1;
  #done = false;

  private constructor(header: Buffer, frameLength: number, messageId: Buffer, getCipher: (iv: Uint8Array) => Cipher, dispose: () => void) {
    this.header = header;
    this.frameLength = frameLength;
    this.#messageId = messageId;
    this.#getCipher = getCipher;
    this.#dispose = dispose;
  }

  /**
   * One message's materials and header: one data key, wrapped by the keyring. The data key is
   * drawn here, synchronously, from the same CSPRNG the SDK's raw keyrings use: they draw it
   * through the thread pool (randomBytes with a callback), a hop that cost milliseconds per
   * message on a busy 2-core machine. Otherwise this is what the SDK's default materials
   * manager does for a suite without signature.
   */
  static async start(keyring: KeyringNode & { readonly keyName: string; readonly keyNamespace: string }, suiteId: AlgorithmSuiteIdentifier, context: Record<string, string>, frameLength: number): Promise<Sealer> {
    const suite = new NodeAlgorithmSuite(suiteId);
    CommitmentPolicySuites.isEncryptEnabled(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, suite);
    if (suite.signatureHash !== undefined) throw new Error(`suite 0x${suiteId.toString(16)} signs; this writer does not`);
    const fresh = new NodeEncryptionMaterial(suite, context);
    fresh.setUnencryptedDataKey(randomFillSync(new Uint8Array(suite.keyLengthBytes)), {
      keyNamespace: keyring.keyNamespace,
      keyName: keyring.keyName,
      flags: KeyringTraceFlag.WRAPPING_KEY_GENERATED_DATA_KEY,
    });
    const material = await keyring.onEncrypt(fresh);
    if (!material.hasValidKey() || material.encryptedDataKeys.length === 0) {
      material.zeroUnencryptedDataKey();
      throw new Error('the keyring did not wrap the data key');
    }
    const { getCipherInfo, dispose } = getEncryptHelper(material);
    try {
      const messageId = randomBytes(MESSAGE_ID);
      const { getCipher, keyCommitment } = getCipherInfo(messageId);
      if (keyCommitment === undefined) throw new Error('the suite gave no key commitment');
      const body = serializeHeader({
        suiteId,
        messageId,
        context: serializeContext(material.encryptionContext),
        encryptedDataKeys: material.encryptedDataKeys,
        frameLength,
        commitment: keyCommitment,
      });
      const auth = getCipher(HEADER_IV);
      auth.setAAD(body);
      auth.update(Buffer.alloc(0));
      auth.final();
      return new Sealer(Buffer.concat([body, auth.getAuthTag()]), frameLength, messageId, getCipher, dispose);
    } catch (error) {
      dispose();
      throw error;
    }
  }

  /** The whole message for `plaintext`, in one buffer: header, full frames, a final frame (empty when the plaintext fills its frames, as the SDK writes it). */
  seal(plaintext: Uint8Array): Buffer {
    const full = Math.floor(plaintext.length / this.frameLength);
    const rest = plaintext.length - full * this.frameLength;
    const out = Buffer.allocUnsafe(this.header.length + full * (FRAME_OVERHEAD + this.frameLength) + FINAL_OVERHEAD + rest);
    let at = this.header.copy(out, 0);
    for (let i = 0; i < full; i++) {
      at = this.#frameInto(out, at, [plaintext.subarray(i * this.frameLength, (i + 1) * this.frameLength)], this.frameLength, false);
    }
    at = this.#frameInto(out, at, [plaintext.subarray(full * this.frameLength)], rest, true);
    if (at !== out.length) throw new Error(`sealed ${at} bytes of ${out.length}`);
    return out;
  }

  /**
   * One frame of `length` bytes given in pieces: regular (exactly frameLength) or final, as one
   * buffer (one frame per stream chunk: a reader of the stream gets it without joining pieces).
   */
  frame(pieces: readonly Uint8Array[], length: number, final: boolean): Buffer {
    const out = Buffer.allocUnsafe((final ? FINAL_OVERHEAD : FRAME_OVERHEAD) + length);
    const at = this.#frameInto(out, 0, pieces, length, final);
    if (at !== out.length) throw new Error(`sealed ${at} bytes of ${out.length}`);
    return out;
  }

  /** Zeroes the data key; call once the message is written or abandoned. */
  dispose(): void {
    this.#dispose();
  }

  /** Writes one frame (its content given in pieces) into `out` at `at`; returns where it ends. */
  #frameInto(out: Buffer, at: number, pieces: readonly Uint8Array[], length: number, final: boolean): number {
    const seq = this.#next(length, final);
    const iv = frameIv(seq);
    if (final) {
      at = out.writeUInt32BE(FINAL, at);
      at = out.writeUInt32BE(seq, at);
      at += iv.copy(out, at);
      at = out.writeUInt32BE(length, at);
    } else {
      at = out.writeUInt32BE(seq, at);
      at += iv.copy(out, at);
    }
    const cipher = this.#getCipher(iv);
    cipher.setAAD(frameAad(this.#messageId, final, seq, length));
    for (const p of pieces) at += cipher.update(view(p)).copy(out, at);
    at += cipher.final().copy(out, at);
    const tag = cipher.getAuthTag();
    if (tag.length !== TAG) throw new Error(`a ${tag.length}-byte tag`);
    return at + tag.copy(out, at);
  }

  #next(length: number, final: boolean): number {
    if (this.#done) throw new Error('the message already has its final frame');
    if (final ? length > this.frameLength : length !== this.frameLength) throw new Error(`a frame of ${length} bytes with frames of ${this.frameLength}`);
    // Sequence numbers run from 1 and may not reach the final frame's marker.
    if (this.#seq >= FINAL) throw new Error('too many frames for one message');
    this.#done = final;
    return this.#seq++;
  }
}

function view(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
