import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerAvailable, freePort, LocalStackStartError, startLocalStack, venvDir } from './index.ts';

describe('startLocalStack failures are fast and say what to do', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    blocker = createServer((socket) => socket.destroy()); // holds the port, answers nothing
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

  it('a port already taken fails in seconds, naming mode, stage and fix', async () => {
    const t = performance.now();
    const error = await startLocalStack({ mode: 'host', port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalStackStartError);
    const e = error as LocalStackStartError;
    expect(e.mode).toBe('host');
    expect(e.stage).toBe('port');
    expect(e.message).toContain(`port ${port}`);
    expect(e.message).toMatch(/Fix: /);
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('an external endpoint that does not answer fails with the endpoint and the fix', async () => {
    const t = performance.now();
    const error = await startLocalStack({ mode: 'external', endpoint: `http://127.0.0.1:${port}`, healthWaitMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalStackStartError);
    expect((error as Error).message).toMatch(/external mode.*health.*within 1 s.*last: no answer/s);
    expect((error as Error).message).toContain('unset LOCALSTACK_ENDPOINT');
    expect(performance.now() - t).toBeLessThan(8000);
  }, 10_000);

  it('external mode without an endpoint says how to give one', async () => {
    const error = await startLocalStack({ mode: 'external', env: {} }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('set LOCALSTACK_ENDPOINT');
  });

  it('a missing Python fails at the python stage without touching the cache', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'ekm-cache-test-'));
    try {
      const env = { PATH: '/nonexistent', EKM_CACHE_DIR: cache, EKM_PYTHON: '/nonexistent/python3' };
      const error = await startLocalStack({ mode: 'host', env }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'LocalStackStartError', stage: 'python' });
      expect((error as Error).message).toContain('EKM_PYTHON');
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('no container runtime is detected quickly when there is no socket', async () => {
    const t = performance.now();
    expect(await dockerAvailable({ DOCKER_HOST: 'unix:///nonexistent.sock' })).toBe(false);
    expect(await dockerAvailable({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }, 300)).toBe(false);
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it('a changed pin gives a different venv folder', () => {
    const env = { EKM_CACHE_DIR: '/cache' };
    expect(venvDir(env, 'localstack-core==4.10.0\n')).not.toBe(venvDir(env, 'localstack-core==4.10.1\n'));
    expect(venvDir(env, 'a')).toMatch(/^\/cache\/localstack-4\.10\.0-[0-9a-f]{12}$/);
  });
});
