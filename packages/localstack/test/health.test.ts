import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, LocalStackStartError, startLocalStack } from '../src/index.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A LocalStack stand-in whose health reports kms and s3 available only after readyAfterMs. */
async function slowLocalStack(readyAfterMs: number, services = { kms: 'available', s3: 'available' }): Promise<{ endpoint: string; asks(): number }> {
  const port = await freePort();
  const born = Date.now();
  let asks = 0;
  server = createServer((req, res) => {
    if (req.url !== '/_localstack/health') return void res.writeHead(404).end();
    asks++;
    const ready = Date.now() - born >= readyAfterMs;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ services: ready ? services : { kms: 'initializing', s3: 'initializing' } }));
  });
  await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
  return { endpoint: `http://127.0.0.1:${port}`, asks: () => asks };
}

describe('an external LocalStack is waited for, for a bounded time', () => {
  it('one that becomes healthy after 1.5 s is used, after several tries', async () => {
    const ls = await slowLocalStack(1500);
    const t = performance.now();
    const got = await startLocalStack({ mode: 'external', endpoint: ls.endpoint, healthWaitMs: 20_000 });
    expect(got.mode).toBe('external');
    expect(got.endpoint).toBe(ls.endpoint);
    expect(ls.asks()).toBeGreaterThanOrEqual(3);
    expect(performance.now() - t).toBeGreaterThanOrEqual(1400);
    expect(performance.now() - t).toBeLessThan(8000);
  });

  it('one that never gets kms up fails after the wait, saying how long, how often and what it saw', async () => {
    const ls = await slowLocalStack(0, { kms: 'error', s3: 'available' });
    const t = performance.now();
    const error = await startLocalStack({ mode: 'external', endpoint: ls.endpoint, healthWaitMs: 2000 }).catch((e: unknown) => e);
    const ms = performance.now() - t;
    expect(error).toBeInstanceOf(LocalStackStartError);
    const message = (error as Error).message;
    expect(message).toMatch(/external mode\) failed at health: .*did not report kms and s3 available within 2 s \(\d+ tries; last: \{"kms":"error","s3":"available"\}\)/);
    expect(message).toContain('up -d --wait');
    expect(ls.asks()).toBeGreaterThanOrEqual(3);
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThan(6000);
  });
});
