import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import { GraphClient, GraphError, toGraphError } from '../src/graph-client.ts';

const t = createMockTenant(generateTenant({ seed: 30, referenceDate: new Date('2026-06-01T00:00:00Z'), users: 30 }));
const graph = createGraphServer([t]);
beforeAll(() => graph.listen());
afterAll(() => graph.close());

const options = { tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret };

describe('GraphClient', () => {
  it('getMany: 45 GETs in three $batch requests, answers in input order, only throttled ones sent again after the longest Retry-After', async () => {
    const delays: number[] = [];
    const client = new GraphClient({ ...options, sleep: async (ms) => void delays.push(ms) });
    const users = t.directory.list('user');
    const paths = Array.from({ length: 45 }, (_, i) => `users/${users[i % users.length]!.id}?$select=id,displayName`);
    await client.get('users?$top=1'); // the token first, so the count below is of batches
    const before = client.requests;
    t.faults.throttleNext(3, 2);
    const got = await client.getMany<{ id: string }>(paths);
    t.faults.clear();
    expect(got.map((u) => u.id)).toEqual(paths.map((p) => p.slice('users/'.length, p.indexOf('?'))));
    // 20 + 20 + 5, and one more for the first batch's three throttled requests, sent together.
    expect(client.requests - before).toBe(4);
    expect(delays).toEqual([2000]);
    expect(client.retries).toBe(3);
  });

  it('getMany: a refusal inside a batch is a GraphError with Graph\'s code; a throttle that outlasts the retries is GraphThrottled', async () => {
    const client = new GraphClient({ ...options, maxRetries: 2, sleep: async () => {} });
    const missing = await client.getMany(['users/00000000-0000-0000-0000-000000000000']).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(GraphError);
    expect((missing as GraphError).status).toBe(404);
    expect((missing as GraphError).code).toBeUndefined();
    t.faults.throttleNext(10, 1);
    const throttled = await client.getMany(['users', 'groups']).catch((e: unknown) => e);
    t.faults.clear();
    expect((throttled as GraphError).code).toBe('GraphThrottled');
    expect((throttled as GraphError).message).toContain('gave up after 2 retries');
  });

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

  it('pages through 10,000 users with pages(), each id exactly once', async () => {
    const big = createMockTenant(generateTenant({ seed: 10, referenceDate: new Date('2026-06-01T00:00:00Z'), users: 10_000 }));
    graph.addTenant(big);
    const client = new GraphClient({ tenantId: big.tenantId, clientId: big.clientId, clientSecret: big.clientSecret, sleep: async () => {} });
    for (const top of [999, 100]) {
      let pages = 0;
      const seen: string[] = [];
      for await (const page of client.pages<{ id: string }>('users', { top, select: ['id', 'displayName'] })) {
        pages++;
        expect(page.length).toBeLessThanOrEqual(top);
        seen.push(...page.map((u) => u.id));
      }
      expect(pages).toBe(Math.ceil(10_000 / top));
      expect(new Set(seen)).toEqual(new Set(big.directory.list('user').map((u) => u.id)));
    }
    graph.removeTenant(big.tenantId);
  });

  it('a 429 with Retry-After is a GraphThrottled error once retries are used up; refusals keep Graph\'s code', async () => {
    const delays: number[] = [];
    const client = new GraphClient({ ...options, maxRetries: 2, sleep: async (ms) => void delays.push(ms) });
    t.faults.throttleNext(3, 7);
    const error = await client.get('users').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect(error).toMatchObject({ code: 'GraphThrottled', status: 429, graphCode: 'TooManyRequests' });
    expect((error as GraphError).failure).toMatchObject({ code: 'GraphThrottled', kind: 'transient' });
    expect(delays).toEqual([7000, 7000]);
    t.faults.unavailableNext(3, 1);
    await expect(client.get('users')).rejects.toMatchObject({ code: 'GraphUnavailable', status: 503 });
    t.faults.clear();
    await expect(client.get('users?$top=1000')).rejects.toMatchObject({ name: 'GraphError', status: 400, code: undefined });
    const wrong = new GraphClient({ ...options, clientSecret: 'wrong', sleep: async () => {} });
    await expect(wrong.get('users')).rejects.toMatchObject({ graphCode: 'invalid_client', code: undefined, status: 401 });
  });
});
