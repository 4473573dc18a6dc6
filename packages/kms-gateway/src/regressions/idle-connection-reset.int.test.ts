/**
 * Regression: a harness client without retries (the key administrator's, `maxAttempts: 1`)
 * reported `TimeoutError: read ECONNRESET` as a KMS refusal after a long held step: Node's HTTP
 * server closed the idle keep-alive connection after 5 s, as the client sent on it. AWS endpoints
 * keep idle connections open far longer, so the gateway keeps them for 120 s.
 * Found by scenarios/running/update-during-backup.yaml over the HTTP binding.
 */
import { request, Agent } from 'node:http';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type {} from '@ekm/localstack/vitest-setup';
import { startKmsGateway, type KmsGateway } from '../index.ts';

let gateway: KmsGateway;
beforeAll(async () => {
  gateway = await startKmsGateway({ localstackEndpoint: inject('localstackEndpoint') });
});
afterAll(async () => {
  await gateway?.close();
});

function get(agent: Agent, url: string): Promise<{ reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

// https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/node-reusing-connections.html (the SDK reuses connections by default)
it('keeps an idle keep-alive connection open past Node’s 5 s default, so the next call reuses it', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const url = `${gateway.endpoint}/_ekm/stats`;
    expect((await get(agent, url)).reused).toBe(false);
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await get(agent, url)).reused).toBe(true);
  } finally {
    agent.destroy();
  }
}, 20_000);
