import { KmsError, messages } from './errors.ts';

/**
 * Key material rotations as AWS counts and lists them. AWS allows 25 on-demand rotations per
 * key (https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys-on-demand.html);
 * LocalStack 4.10 stops at 10 (`ON_DEMAND_ROTATION_LIMIT` in its kms/models.py, a constant with
 * no setting) and has no ListKeyRotations at all.
 *
 * What the gateway does past LocalStack's 10th: it counts the rotation and lists it, but
 * LocalStack keeps encrypting under the material of the 10th rotation. No KMS answer the
 * gateway gives shows which material a ciphertext uses, and every earlier ciphertext still
 * decrypts, so a caller cannot tell, except that an 11th..25th rotation protects nothing new.
 */
export const ON_DEMAND_LIMIT = 25;
export const LOCALSTACK_ON_DEMAND_LIMIT = 10;

export interface Rotation {
  date: Date;
  type: 'ON_DEMAND' | 'AUTOMATIC';
  /** Whether LocalStack really changed the material (false past its 10th on-demand rotation). */
  backed: boolean;
}

export class RotationLog {
  readonly #byKey = new Map<string, Rotation[]>();

  onDemandCount(keyArn: string): number {
    return (this.#byKey.get(keyArn) ?? []).filter((r) => r.type === 'ON_DEMAND').length;
  }

  /** Refuses the rotation AWS would refuse: the 26th on-demand one. */
  checkOnDemand(keyArn: string): void {
    if (this.onDemandCount(keyArn) >= ON_DEMAND_LIMIT) throw new KmsError('LimitExceededException', messages.rotationLimit(keyArn));
  }

  record(keyArn: string, rotation: Rotation): void {
    const list = this.#byKey.get(keyArn) ?? [];
    list.push(rotation);
    this.#byKey.set(keyArn, list);
  }

  /**
   * A page of ListKeyRotations (https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyRotations.html):
   * `Limit` 1..1000 (default 100), `Marker` from the previous page's NextMarker.
   */
  page(keyArn: string, keyId: string, limit = 100, marker?: string): Record<string, unknown> {
    const all = this.#byKey.get(keyArn) ?? [];
    let start = 0;
    if (marker !== undefined) {
      const m = /^(.+)#(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
      if (!m || m[1] !== keyArn || Number(m[2]) > all.length) throw new KmsError('InvalidMarkerException', messages.invalidMarker());
      start = Number(m[2]);
    }
    const end = Math.min(all.length, start + limit);
    const Rotations = all.slice(start, end).map((r) => ({ KeyId: keyId, RotationDate: r.date.getTime() / 1000, RotationType: r.type }));
    const truncated = end < all.length;
    return truncated
      ? { Rotations, Truncated: true, NextMarker: Buffer.from(`${keyArn}#${end}`).toString('base64url') }
      : { Rotations, Truncated: false };
  }

  forgetKey(keyArn: string): void {
    this.#byKey.delete(keyArn);
  }
}
