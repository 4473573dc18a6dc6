/**
 * The Encryption SDK's message format v2 (framed, committing suites), as the SDK itself writes
 * and reads it (@aws-crypto/serialize 5.0.2; docs.aws.amazon.com/encryption-sdk message-format
 * and body-aad-reference). Only the byte layout lives here; every key, commitment and tag is
 * computed by the SDK's own material helpers (see seal.ts, open.ts).
 */
import { EncryptedDataKey } from '@aws-crypto/client-node';

export const VERSION = 2;
export const MESSAGE_ID = 32;
export const IV = 12;
export const TAG = 16;
export const COMMITMENT = 32;
export const FRAMED = 2;
/** The sequence number field of a final frame. */
export const FINAL = 0xffffffff;
/** version, suite, message id, context length */
export const PREFIX = 1 + 2 + MESSAGE_ID + 2;
/** A regular frame around its content: sequence number, IV, tag. */
export const FRAME_OVERHEAD = 4 + IV + TAG;
/** A final frame around its content: marker, sequence number, IV, content length, tag. */
export const FINAL_OVERHEAD = 4 + 4 + IV + 4 + TAG;

const FRAME_AAD = Buffer.from('AWSKMSEncryptionClient Frame');
const FINAL_AAD = Buffer.from('AWSKMSEncryptionClient Final Frame');
/** The header authentication IV of format v2: all zeros. */
export const HEADER_IV = new Uint8Array(IV);

/**
 * The header's encryption context section, length first, pairs sorted by the UTF-8 bytes of
 * their keys (the SDK's `utf8Sorting`). An empty context is a zero length and nothing else.
 */
export function serializeContext(context: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(context)
    .map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const)
    .sort(([a], [b]) => Buffer.compare(a, b));
  if (pairs.length === 0) return Buffer.alloc(2);
  const parts: Buffer[] = [u16(pairs.length)];
  for (const [k, v] of pairs) parts.push(u16(k.length), k, u16(v.length), v);
  const body = Buffer.concat(parts);
  return Buffer.concat([u16(body.length), body]);
}

export interface HeaderFields {
  readonly suiteId: number;
  readonly messageId: Uint8Array;
  /** serializeContext's output. */
  readonly context: Uint8Array;
  readonly encryptedDataKeys: readonly EncryptedDataKey[];
  readonly frameLength: number;
  readonly commitment: Uint8Array;
}

/** The header without its authentication tag (the tag's AAD). */
export function serializeHeader(h: HeaderFields): Buffer {
  const parts: Uint8Array[] = [Buffer.from([VERSION]), u16(h.suiteId), h.messageId, h.context, u16(h.encryptedDataKeys.length)];
  for (const edk of h.encryptedDataKeys) {
    const id = Buffer.from(edk.providerId);
    // The provider info is binary; rawInfo holds its bytes when the keyring gave them.
    const info = edk.rawInfo ?? Buffer.from(edk.providerInfo);
    parts.push(u16(id.length), id, u16(info.length), info, u16(edk.encryptedDataKey.length), edk.encryptedDataKey);
  }
  parts.push(Buffer.from([FRAMED]), u32(h.frameLength), h.commitment);
  return Buffer.concat(parts);
}

export interface Header extends HeaderFields {
  readonly version: number;
  readonly contentType: number;
  /** Every header byte before the tag: the tag's AAD. */
  readonly body: Buffer;
  readonly tag: Buffer;
  /** Header and tag: where the body starts. */
  readonly length: number;
}

/**
 * Parses a v2 header at the start of `b`, or says it needs more bytes (undefined). Throws on a
 * structure that cannot be a header. Views, not copies: `b` must not change while in use.
 */
export function parseHeader(b: Buffer): Header | undefined {
  if (b.length < PREFIX) return undefined;
  const version = b[0]!;
  if (version !== VERSION) throw new Error(`message format version ${version}, not ${VERSION}`);
  const suiteId = b.readUInt16BE(1);
  const messageId = b.subarray(3, 3 + MESSAGE_ID);
  let at = PREFIX;
  const contextLength = b.readUInt16BE(at - 2);
  if (b.length < at + contextLength + 2) return undefined;
  const context = b.subarray(at - 2, at + contextLength);
  at += contextLength;
  const count = b.readUInt16BE(at);
  at += 2;
  if (count === 0) throw new Error('no encrypted data key');
  const encryptedDataKeys: EncryptedDataKey[] = [];
  for (let i = 0; i < count; i++) {
    const fields: Buffer[] = [];
    for (let f = 0; f < 3; f++) {
      if (b.length < at + 2) return undefined;
      const n = b.readUInt16BE(at);
      if (b.length < at + 2 + n) return undefined;
      fields.push(b.subarray(at + 2, at + 2 + n));
      at += 2 + n;
    }
    const [id, info, key] = fields as [Buffer, Buffer, Buffer];
    encryptedDataKeys.push(new EncryptedDataKey({ providerId: id.toString('utf8'), providerInfo: info.toString('utf8'), rawInfo: info, encryptedDataKey: key }));
  }
  if (b.length < at + 1 + 4 + COMMITMENT + TAG) return undefined;
  const contentType = b[at]!;
  const frameLength = b.readUInt32BE(at + 1);
  at += 5;
  const commitment = b.subarray(at, at + COMMITMENT);
  at += COMMITMENT;
  return { version, suiteId, messageId, context, encryptedDataKeys, contentType, frameLength, commitment, body: b.subarray(0, at), tag: b.subarray(at, at + TAG), length: at + TAG };
}

/** A frame's IV as the SDK writes it: the sequence number, big-endian, in the last 4 bytes. */
export function frameIv(seq: number): Buffer {
  const iv = Buffer.alloc(IV);
  iv.writeUInt32BE(seq, IV - 4);
  return iv;
}

/** A frame's AAD: message id, content string, sequence number, content length (64 bits). */
export function frameAad(messageId: Uint8Array, final: boolean, seq: number, length: number): Buffer {
  const label = final ? FINAL_AAD : FRAME_AAD;
  const aad = Buffer.allocUnsafe(MESSAGE_ID + label.length + 4 + 8);
  aad.set(messageId, 0);
  label.copy(aad, MESSAGE_ID);
  aad.writeUInt32BE(seq, MESSAGE_ID + label.length);
  aad.writeBigUInt64BE(BigInt(length), MESSAGE_ID + label.length + 4);
  return aad;
}

export function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}
