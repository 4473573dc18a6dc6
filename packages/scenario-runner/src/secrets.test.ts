import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretScanner } from './secrets.ts';

const runs = Number(process.env.FC_NUM_RUNS ?? (process.env.CI ? 1000 : 200));

describe('SecretScanner', () => {
  it('[EKM-19] finds a key written raw, in hex (either case), base64 or base64url, at any offset, and names no key', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom('raw', 'hex', 'HEX', 'base64', 'base64url'),
        (key, before, after, encoding) => {
          const s = new SecretScanner();
          s.add(key, 'tenant-key');
          const inner = Buffer.concat([Buffer.from(before), Buffer.from(key), Buffer.from(after)]);
          const written =
            encoding === 'raw'
              ? inner
              : encoding === 'hex'
                ? Buffer.from(`x${inner.toString('hex')}`)
                : encoding === 'HEX'
                  ? Buffer.from(inner.toString('hex').toUpperCase())
                  : Buffer.from(inner.toString(encoding));
          s.scan('file', written);
          const { findings } = s.summary();
          return (
            findings.length >= 1 &&
            findings.every((f) => f.where === 'file' && f.kind === 'tenant-key' && !JSON.stringify(f).includes(Buffer.from(key).toString('hex')))
          );
        },
      ),
      { numRuns: runs },
    );
  });

  it('finds nothing in data that does not hold the key', () => {
    const s = new SecretScanner();
    for (let i = 0; i < 50; i++) s.add(randomBytes(32), 'data-key');
    s.scan('noise', randomBytes(1 << 20));
    s.scan(
      'text',
      JSON.stringify({
        keyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        ciphertext: randomBytes(200).toString('base64'),
      }),
    );
    expect(s.summary()).toMatchObject({ keys: 50, places: 2, findings: [] });
  });

  it('scans a megabyte against 1,000 keys in well under a second', () => {
    const s = new SecretScanner();
    for (let i = 0; i < 1000; i++) s.add(randomBytes(32), 'data-key');
    const t = performance.now();
    s.scan('blob', randomBytes(1 << 20));
    expect(performance.now() - t).toBeLessThan(3000);
  });
});
