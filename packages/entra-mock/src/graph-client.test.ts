import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTenant } from './generate.ts';
import { GraphClient, GraphError, toGraphError } from './graph-client.ts';
import { createGraphServer, createMockTenant } from './graph-handlers.ts';

const t = createMockTenant(generateTenant({ seed: 30, referenceDate: new Date('2026-06-01T00:00:00Z'), users: 30 }));
const graph = createGraphServer([t]);
beforeAll(() => graph.listen());
afterAll(() => graph.close());

const options = { tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret };

describe('GraphClient', () => {
  it('falls back to its own backoff when a 429 has no Retry-After, as conditional access answers', async () => {
    const delays: number[] = [];
    const client = new GraphClient({ ...options, sleep: async (ms) => void delays.push(ms) });
    t.faults.throttleNext(3, 9);
    const policies = await client.list('identity/conditionalAccess/policies');
    expect(policies).toHaveLength(5);
    expect(delays).toEqual([1000, 2000, 4000]);
  });

  it('asks for one token and reuses it, and renews it once after a 401', async () => {
    let tokenCalls = 0;
    const client = new GraphClient({
      ...options,
      fetch: (input, init) => {
        if (String(input).includes('/oauth2/')) tokenCalls++;
        return fetch(input, init);
      },
    });
    await client.get('users');
    await client.get('groups');
    expect(tokenCalls).toBe(1);
    // A server that forgets its tokens (a new MSW registry) answers 401 once; the client signs in again.
    graph.removeTenant(t.tenantId);
    graph.addTenant(t);
    await client.get('users');
    expect(tokenCalls).toBe(2);
  });

  it('turns a network failure into GraphUnavailable after its retries', async () => {
    const client = new GraphClient({ ...options, maxRetries: 2, sleep: async () => {}, fetch: async () => Promise.reject(new TypeError('fetch failed')) });
    const error = await client.get('users').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect(error).toMatchObject({ name: 'GraphError', code: 'GraphUnavailable', status: undefined });
    expect(client.retries).toBe(2);
    expect(toGraphError(error)).toBe(error);
    expect(toGraphError('boom')).toMatchObject({ code: 'GraphUnavailable' });
  });
});
