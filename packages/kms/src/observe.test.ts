import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { observeKeyMaterial } from './observe.ts';
import { decryptSnapshot, encryptSnapshot } from './snapshot.ts';
import { TenantKey } from './tenant-key.ts';

afterEach(() => observeKeyMaterial(undefined));

describe('observeKeyMaterial (for the secret scan)', () => {
  it('[EKM-19] sees the data key of every snapshot message, as a copy, and nothing when off', async () => {
    const seen: { bytes: Uint8Array; kind: string }[] = [];
    observeKeyMaterial((bytes, kind) => seen.push({ bytes, kind }));
    const key = new TenantKey('t-1', 1, randomBytes(32), 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const ctx = { tenant: 't-1', snapshot: 's-1' };
    const sealed = await encryptSnapshot(key, new TextEncoder().encode('{"users":[]}'), ctx);
    expect(seen.map((s) => [s.kind, s.bytes.length])).toEqual([['data-key', 32]]);
    // The copy is the observer's: zeroing it cannot break the message.
    seen[0]!.bytes.fill(0);
    expect(new TextDecoder().decode(await decryptSnapshot(key, sealed, ctx))).toBe('{"users":[]}');

    observeKeyMaterial(undefined);
    const other = new TenantKey('t-1', 1, randomBytes(32), 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    await encryptSnapshot(other, new Uint8Array([1]), ctx);
    expect(seen).toHaveLength(1);
    key.drop();
    other.drop();
  });
});
