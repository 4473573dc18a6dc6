import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Toxics } from './toxics.ts';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function pattern(seed: number, calls: number): boolean[] {
  const t = new Toxics(seed);
  t.add({ name: 'flaky', type: 'throttle', toxicity: 0.5 });
  return Array.from({ length: calls }, () => t.roll({ operation: 'Decrypt', callerAccount: '444455556666' }).fault !== undefined);
}

describe('Toxics', () => {
  it('the same seed replays the same faults, whatever other toxics draw', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = new Toxics(seed);
        const b = new Toxics(seed);
        a.add({ name: 'flaky', type: 'internal', toxicity: 0.3 });
        b.add({ name: 'flaky', type: 'internal', toxicity: 0.3 });
        b.add({ name: 'other', type: 'latency', toxicity: 0.5, latencyMs: 1, account: '999999999999' });
        const target = { operation: 'Decrypt', callerAccount: '999999999999' };
        const fa = Array.from({ length: 20 }, () => a.roll(target).fault?.name);
        const fb = Array.from({ length: 20 }, () => b.roll(target).fault?.name);
        return JSON.stringify(fa) === JSON.stringify(fb);
      }),
    );
  });
  it('a toxic with times fires that many times, then lets calls through', () => {
    const t = new Toxics(1);
    t.add({ name: 'burst', type: 'throttle', times: 2 });
    const target = { operation: 'Decrypt', callerAccount: '444455556666' };
    const fired = Array.from({ length: 5 }, () => t.roll(target).fault !== undefined);
    expect(fired).toEqual([true, true, false, false, false]);
    expect(t.list()[0]?.hits).toBe(2);
  });
  it('toxicity is the share of calls that fail', () => {
    const fired = pattern(42, 2000).filter(Boolean).length;
    expect(fired).toBeGreaterThan(900);
    expect(fired).toBeLessThan(1100);
    expect(pattern(42, 50)).toEqual(pattern(42, 50));
    expect(pattern(42, 50)).not.toEqual(pattern(43, 50));
  });
  it('scopes by operation, key and account', () => {
    const t = new Toxics(1);
    t.add({ name: 'k', type: 'throttle', keyArn: KEY, operations: ['Decrypt'] });
    t.add({ name: 'a', type: 'internal', account: '444455556666' });
    expect(t.roll({ operation: 'Decrypt', callerAccount: '1', keyArn: KEY }).fault?.name).toBe('k');
    expect(t.roll({ operation: 'Encrypt', callerAccount: '1', keyArn: KEY }).fault).toBeUndefined();
    expect(t.roll({ operation: 'Encrypt', callerAccount: '444455556666' }).fault?.name).toBe('a');
    expect(t.roll({ operation: 'Encrypt', callerAccount: '1', keyArn: KEY.replace('111122223333', '444455556666') }).fault?.name).toBe('a');
    expect(t.reset({ account: '444455556666' })).toBe(1);
    expect(t.list().map((x) => x.name)).toEqual(['k']);
  });
  it('latencies add up with jitter and a latency toxic is not a fault', () => {
    const t = new Toxics(1);
    t.add({ name: 'l1', type: 'latency', latencyMs: 100, jitterMs: 10 });
    t.add({ name: 'l2', type: 'latency', latencyMs: 50 });
    const r = t.roll({ operation: 'Decrypt', callerAccount: '1' });
    expect(r.fault).toBeUndefined();
    expect(r.delayMs).toBeGreaterThanOrEqual(140);
    expect(r.delayMs).toBeLessThanOrEqual(160);
  });
  it('refuses bad toxics', () => {
    const t = new Toxics(1);
    expect(() => t.add({ name: 'x', type: 'throttle', toxicity: 2 })).toThrow(RangeError);
    expect(() => t.add({ name: 'x', type: 'nope' as 'throttle' })).toThrow(RangeError);
    t.add({ name: 'x', type: 'throttle' });
    expect(() => t.add({ name: 'x', type: 'throttle' })).toThrow(RangeError);
  });
});
