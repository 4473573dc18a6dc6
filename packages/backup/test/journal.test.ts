import { describe, expect, it } from 'vitest';
import type { TenantKeyEntry } from '@ekm/kms';
import { MemoryBucket } from '../src/bucket.ts';
import { S3Journal } from '../src/journal.ts';

const wrapped = (keyArn: string) => ({ keyArn, version: 1, ciphertext: 'AAAA' });
const entry = (revision: number, keyArn = 'k1'): TenantKeyEntry => ({ tenant: 't1', revision, inForce: wrapped(keyArn) });

describe('S3Journal', () => {
  it('stores an entry only over its predecessor revision, so a lost race or a replay is refused', async () => {
    const j = new S3Journal(new MemoryBucket());
    expect(await j.read('t1')).toBeUndefined();
    expect(await j.write(entry(2))).toBe(false);
    expect(await j.write(entry(1))).toBe(true);
    expect(await j.write(entry(1, 'other'))).toBe(false);
    expect(await j.write(entry(3))).toBe(false);
    expect(await j.write({ ...entry(2), pending: wrapped('k2') })).toBe(true);
    expect(await j.write(entry(3, 'k2'))).toBe(true);
    expect(await j.read('t1')).toEqual(entry(3, 'k2'));
  });

  it('keeps tenants apart', async () => {
    const j = new S3Journal(new MemoryBucket());
    await j.write(entry(1));
    await j.write({ ...entry(1, 'kx'), tenant: 't/2' });
    expect((await j.read('t1'))?.inForce.keyArn).toBe('k1');
    expect((await j.read('t/2'))?.inForce.keyArn).toBe('kx');
  });
});
