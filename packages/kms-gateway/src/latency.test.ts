import { describe, expect, it } from 'vitest';
import { AddedLatency, answering, notSampled, waitingUpstream } from './latency.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("AddedLatency: the gateway's own time per call, LocalStack's excluded", () => {
  it('upstream waits are subtracted once, overlapping ones as their union', async () => {
    const latency = new AddedLatency();
    await latency.track(async () => {
      await Promise.all([waitingUpstream(sleep(60)), waitingUpstream(sleep(60))]);
      await waitingUpstream(sleep(40));
    });
    const s = latency.summary();
    expect(s.count).toBe(1);
    // 100 ms of waiting, counted once: what is left is the gateway's own few milliseconds.
    expect(s.p50Ms!).toBeLessThan(30);
  });

  it('time outside upstream waits counts; a call a toxic acted on is not sampled', async () => {
    const latency = new AddedLatency();
    await latency.track(() => sleep(30));
    await latency.track(async () => {
      notSampled();
      await sleep(5);
    });
    const s = latency.summary();
    expect(s.count).toBe(1);
    expect(s.p50Ms!).toBeGreaterThanOrEqual(25);
  });

  it('percentiles over the last window of samples; reset starts again', () => {
    const latency = new AddedLatency(100);
    for (let i = 1; i <= 100; i++) latency.record(i);
    expect(latency.summary()).toEqual({ count: 100, window: 100, p50Ms: 50, p99Ms: 99, maxMs: 100 });
    for (let i = 0; i < 100; i++) latency.record(1);
    expect(latency.summary()).toMatchObject({ count: 200, window: 100, p99Ms: 1 });
    latency.reset();
    expect(latency.summary()).toEqual({ count: 0, window: 0, p50Ms: null, p99Ms: null, maxMs: null });
  });

  /** Busy-waits: a synchronous cost, like a socket write the kernel makes wait for a core. */
  const block = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  it('sending the request is upstream time: given a function, the count starts before it runs', async () => {
    const latency = new AddedLatency();
    await latency.track(() =>
      waitingUpstream(() => {
        block(40);
        return sleep(10);
      }),
    );
    expect(latency.summary().p50Ms!).toBeLessThan(20);
    // Given the promise, the synchronous send ran before the count: the gateway's time (the bug this pins).
    const before = new AddedLatency();
    await before.track(() => {
      const sending = (() => {
        block(40);
        return sleep(10);
      })();
      return waitingUpstream(sending);
    });
    expect(before.summary().p50Ms!).toBeGreaterThanOrEqual(35);
  });

  it("the call's share ends where its answer starts to be written", async () => {
    const latency = new AddedLatency();
    await latency.track(async () => {
      await sleep(5);
      answering();
      block(40); // the write, and the wait for a core the kernel may add to it
    });
    expect(latency.summary().p50Ms!).toBeLessThan(30);
  });

  it('outside a tracked call, waitingUpstream is the promise itself', async () => {
    const p = Promise.resolve(1);
    expect(waitingUpstream(p)).toBe(p);
  });
});
