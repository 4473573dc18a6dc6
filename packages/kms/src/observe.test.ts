import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { withKeyObserver } from './observe.ts';
import { decryptSnapshot, encryptSnapshot } from './snapshot.ts';
import { TenantKey } from './tenant-key.ts';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('withKeyObserver (for the secret scan)', () => {
  it('[EKM-19] sees the data key of every snapshot message, as a copy, and nothing outside its work', async () => {
    const seen: { bytes: Uint8Array; kind: string }[] = [];
    const key = new TenantKey('t-1', 1, randomBytes(32), ARN);
    const ctx = { tenant: 't-1', snapshot: 's-1' };
    const sealed = await withKeyObserver(
      (bytes, kind) => seen.push({ bytes, kind }),
      () => encryptSnapshot(key, new TextEncoder().encode('{"users":[]}'), ctx),
    );
    expect(seen.map((s) => [s.kind, s.bytes.length])).toEqual([['data-key', 32]]);
    // The copy is the observer's: zeroing it cannot break the message.
    seen[0]!.bytes.fill(0);
    expect(new TextDecoder().decode(await decryptSnapshot(key, sealed, ctx))).toBe('{"users":[]}');

    const other = new TenantKey('t-1', 1, randomBytes(32), ARN);
    await encryptSnapshot(other, new Uint8Array([1]), ctx);
    expect(seen).toHaveLength(1);
    key.drop();
    other.drop();
  });

  it('keeps two concurrent observers apart: each learns only the keys of its own work', async () => {
    const a: Uint8Array[] = [];
    const b: Uint8Array[] = [];
    const ctx = { tenant: 't-1', snapshot: 's-1' };
    const ka = new TenantKey('t-1', 1, randomBytes(32), ARN);
    const kb = new TenantKey('t-1', 1, randomBytes(32), ARN);
    await Promise.all([
      withKeyObserver(
        (bytes) => a.push(bytes),
        () => encryptSnapshot(ka, new Uint8Array([1]), ctx),
      ),
      withKeyObserver(
        (bytes) => b.push(bytes),
        async () => {
          await encryptSnapshot(kb, new Uint8Array([2]), ctx);
          await encryptSnapshot(kb, new Uint8Array([3]), ctx);
        },
      ),
    ]);
    expect([a.length, b.length]).toEqual([1, 2]);
    ka.drop();
    kb.drop();
  });
});
