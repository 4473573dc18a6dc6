import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTenant } from './generate.ts';
import { GraphClient, GraphError } from './graph-client.ts';
import { createGraphServer, createMockTenant } from './graph-handlers.ts';
import type { MockTenant } from './graph-handlers.ts';
import { GRAPH_BASE, LOGIN_BASE } from './model.ts';

const referenceDate = new Date('2026-06-01T00:00:00Z');
const big = createMockTenant(generateTenant({ seed: 10, referenceDate, users: 10_000 }));
const small = createMockTenant(generateTenant({ seed: 11, referenceDate, users: 40 }));
const graph = createGraphServer([big, small]);
const noSleep = async () => {};
const clientFor = (t: MockTenant) => new GraphClient({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret, sleep: noSleep });

beforeAll(() => graph.listen());
afterAll(() => graph.close());

async function token(t: MockTenant, secret = t.clientSecret): Promise<Response> {
  const body = new URLSearchParams({ client_id: t.clientId, client_secret: secret, grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' });
  return fetch(`${LOGIN_BASE}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', body });
}

describe('Graph v1.0 handlers', () => {
  it('pages through 10,000 users returning each exactly once', async () => {
    const client = clientFor(big);
    for (const top of [999, 100]) {
      let pages = 0;
      const seen: string[] = [];
      for await (const page of client.pages<{ id: string }>('users', { top, select: ['id', 'displayName'] })) {
        pages++;
        expect(page.length).toBeLessThanOrEqual(top);
        seen.push(...page.map((u) => u.id));
      }
      expect(pages).toBe(Math.ceil(10_000 / top));
      expect(seen).toHaveLength(10_000);
      expect(new Set(seen)).toEqual(new Set(big.directory.list('user').map((u) => u.id)));
    }
  });

  it('defaults to 100 a page, refuses $top above 999, and honours $select', async () => {
    const client = clientFor(big);
    const first = await client.get<{ value: Record<string, unknown>[]; '@odata.nextLink'?: string; '@odata.context': string }>('users?$select=displayName');
    expect(first.value).toHaveLength(100);
    expect(first['@odata.context']).toBe(`${GRAPH_BASE}/$metadata#users`);
    expect(Object.keys(first.value[0]!).sort()).toEqual(['displayName', 'id']);
    expect(first['@odata.nextLink']).toContain('$skiptoken=');
    await expect(client.get('users?$top=1000')).rejects.toMatchObject({ name: 'GraphError', status: 400, code: undefined });
  });

  it('answers 401 without a token and invalid_client for a wrong secret', async () => {
    const bare = await fetch(`${GRAPH_BASE}/users`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
    expect((await fetch(`${GRAPH_BASE}/users`, { headers: { authorization: 'Bearer forged' } })).status).toBe(401);
    const wrong = await token(big, 'not-the-secret');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client', error_description: expect.stringContaining('AADSTS7000215') });
    const ok = await token(big);
    expect(await ok.json()).toMatchObject({ token_type: 'Bearer', expires_in: 3599, access_token: expect.any(String) });
    const client = new GraphClient({ tenantId: big.tenantId, clientId: big.clientId, clientSecret: 'wrong', sleep: noSleep });
    await expect(client.get('users')).rejects.toMatchObject({ graphCode: 'invalid_client', code: undefined });
  });

  it('serves several tenants at once, each its own directory behind its own credentials', async () => {
    const [a, b] = await Promise.all([clientFor(big).get<{ id: string }>(`users/${big.directory.list('user')[0]!.id}`), clientFor(small).list<{ id: string }>('users')]);
    expect(a.id).toBe(big.directory.list('user')[0]!.id);
    expect(b).toHaveLength(40);
    // A token of one tenant does not open another tenant's objects.
    await expect(clientFor(small).get(`users/${a.id}`)).rejects.toMatchObject({ status: 404, graphCode: 'Request_ResourceNotFound' });
    const cross = await token(small);
    expect(cross.status).toBe(200);
  });

  it('moves a deleted user to deletedItems and restores it with the same id', async () => {
    const client = clientFor(small);
    const user = small.directory.list('user')[5]!;
    await client.delete(`users/${user.id}`);
    await expect(client.get(`users/${user.id}`)).rejects.toMatchObject({ status: 404 });
    const binned = await client.list<Record<string, unknown>>('directory/deletedItems/microsoft.graph.user');
    expect(binned.map((u) => u['id'])).toContain(user.id);
    expect(binned.find((u) => u['id'] === user.id)!['deletedDateTime']).toEqual(expect.any(String));
    const restored = await client.post<Record<string, unknown>>(`directory/deletedItems/${user.id}/restore`, {});
    expect(restored).toMatchObject({ id: user.id, '@odata.type': '#microsoft.graph.user', displayName: user.displayName });
    expect(await client.list('directory/deletedItems/microsoft.graph.user')).toHaveLength(0);
  });

  it('adds and removes group members by $ref: 204, 400 for a duplicate, 404 for an unknown object', async () => {
    const client = clientFor(small);
    const group = small.directory.list('group')[0]!;
    const members = small.directory.members('group', group.id, 'members');
    const outsider = small.directory.list('user').find((u) => !members.includes(u.id))!;
    const ref = (id: string) => ({ '@odata.id': `${GRAPH_BASE}/directoryObjects/${id}` });
    await client.post(`groups/${group.id}/members/$ref`, ref(outsider.id));
    const listed = await client.list<Record<string, unknown>>(`groups/${group.id}/members`);
    expect(listed.find((m) => m['id'] === outsider.id)).toMatchObject({ '@odata.type': '#microsoft.graph.user' });
    await expect(client.post(`groups/${group.id}/members/$ref`, ref(outsider.id))).rejects.toMatchObject({ status: 400, graphCode: 'Request_BadRequest' });
    await expect(client.post(`groups/${group.id}/members/$ref`, ref('00000000-0000-4000-8000-000000000000'))).rejects.toMatchObject({ status: 404 });
    await client.delete(`groups/${group.id}/members/${outsider.id}/$ref`);
    expect(small.directory.members('group', group.id, 'members')).toEqual(members);
  });

  it('creates, patches and deletes; read-only properties are refused', async () => {
    const client = clientFor(small);
    const created = await client.post<{ id: string; deviceId: string }>('devices', { displayName: 'LAPTOP-1', operatingSystem: 'Windows', accountEnabled: true });
    expect(created.deviceId).toEqual(expect.any(String));
    await client.patch(`devices/${created.id}`, { displayName: 'LAPTOP-2' });
    expect(await client.get(`devices/${created.id}`)).toMatchObject({ displayName: 'LAPTOP-2' });
    await expect(client.patch(`devices/${created.id}`, { id: 'x' })).rejects.toMatchObject({ status: 400 });
    await client.delete(`devices/${created.id}`);
    // Devices are not soft-deleted.
    await expect(client.get(`directory/deletedItems/${created.id}`)).rejects.toMatchObject({ status: 404 });
    const role = small.directory.list('directoryRole')[0]!;
    await expect(client.delete(`directoryRoles/${role.id}`)).rejects.toMatchObject({ status: 405 });
  });

  it('lets loopback through and fails any other unhandled request', async () => {
    const local = createServer((_req, res) => res.end('local'));
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = local.address() as AddressInfo;
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('local');
      expect(await (await fetch(`http://localhost:${port}/`)).text()).toBe('local');
      // The AWS SDK speaks node:http, not fetch.
      const viaHttp = await new Promise<string>((resolve, reject) => {
        get(`http://127.0.0.1:${port}/`, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      expect(viaHttp).toBe('local');
    } finally {
      await new Promise((resolve) => local.close(resolve));
    }
    await expect(fetch('https://example.com/')).rejects.toThrow();
    await expect(fetch(`${GRAPH_BASE.replace('v1.0', 'beta')}/users`)).rejects.toThrow();
  });

  it('a 429 with Retry-After is a GraphThrottled error once retries are used up', async () => {
    const delays: number[] = [];
    const client = new GraphClient({ tenantId: small.tenantId, clientId: small.clientId, clientSecret: small.clientSecret, maxRetries: 2, sleep: async (ms) => void delays.push(ms) });
    small.faults.throttleNext(3, 7);
    const error = await client.get('users').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect(error).toMatchObject({ code: 'GraphThrottled', status: 429, graphCode: 'TooManyRequests' });
    expect((error as GraphError).failure).toMatchObject({ code: 'GraphThrottled', kind: 'transient' });
    expect(delays).toEqual([7000, 7000]);
    small.faults.unavailableNext(3, 1);
    await expect(client.get('users')).rejects.toMatchObject({ code: 'GraphUnavailable', status: 503 });
    small.faults.clear();
  });
});
