import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestTable } from './digest-table.ts';

const digest = (s: string) => createHash('sha256').update(s).digest().subarray(0, 16).toString('base64');

describe('DigestTable', () => {
  it('answers as a Map of the same sets and marks would, through growth', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.oneof(fc.constant(DigestTable.SAME), fc.string().map(digest))), { maxLength: 3000 }), (ops) => {
        const table = new DigestTable();
        const map = new Map<string, string>();
        for (const [k, v] of ops) {
          table.set(k, v);
          map.set(k, v);
        }
        expect(table.size).toBe(map.size);
        for (const [k, v] of map) expect(table.get(k)).toBe(v);
        for (const [k] of ops) expect(table.get(`${k}\u0000absent`)).toBe(map.get(`${k}\u0000absent`));
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a digest that is not 16 bytes', () => {
    expect(() => new DigestTable().set('k', 'AAAA')).toThrow('a digest is 16 bytes, got 3');
  });
});
