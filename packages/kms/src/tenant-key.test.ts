import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { TenantKey } from './tenant-key.ts';

const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
import { ProviderFailure } from './failure-error.ts';

describe('TenantKey', () => {
  it('[EKM-19] is never serialised or printed: JSON, inspect, String and template strings are redacted', () => {
    const bytes = new Uint8Array(randomBytes(32));
    const hex = Buffer.from(bytes).toString('hex');
    const b64 = Buffer.from(bytes).toString('base64');
    const key = new TenantKey('t-1', 1, bytes, KEY_ARN);
    const printed = [JSON.stringify({ key }), inspect(key, { showHidden: true, depth: 9 }), String(key), `${key}`, inspect({ nested: [key] })];
    for (const text of printed) {
      expect(text).toContain('[TenantKey redacted]');
      expect(text).not.toContain(hex);
      expect(text).not.toContain(b64);
      expect(text).not.toMatch(/\b\d{1,3}(, \d{1,3}){31}\b/);
    }
    expect(structuredClone(key)).not.toHaveProperty('bytes');
  });

  it('[EKM-19] zeroes the bytes it was given, and drop() zeroes its own copy and refuses further use', () => {
    const bytes = new Uint8Array(randomBytes(32));
    const key = new TenantKey('t-1', 1, bytes, KEY_ARN);
    expect(bytes.every((x) => x === 0)).toBe(true);
    let own: Uint8Array = new Uint8Array(0);
    expect(
      key.reveal((b) => {
        own = b;
        return b.some((x) => x !== 0);
      }),
    ).toBe(true);
    key.drop();
    expect(own.byteLength).toBe(32);
    expect(own.every((x) => x === 0)).toBe(true);
    expect(key.dropped).toBe(true);
    expect(() => key.reveal((b) => b)).toThrow(ProviderFailure);
    key.drop();
  });

  it('refuses a key that is not 256 bits, and zeroes it', () => {
    const bytes = new Uint8Array(randomBytes(16));
    expect(() => new TenantKey('t-1', 1, bytes, KEY_ARN)).toThrow(/256 bits/);
    expect(bytes.every((x) => x === 0)).toBe(true);
  });
});
