import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTenant } from '../src/generate.ts';
import { createGraphServer, createMockTenant } from '../src/graph-handlers.ts';
import { GRAPH_BASE } from '../src/model.ts';
import { signIn, tokenResponse } from './graph-fetch.ts';

const referenceDate = new Date('2026-06-01T00:00:00Z');
const big = createMockTenant(generateTenant({ seed: 10, referenceDate, users: 10_000 }));
const small = createMockTenant(generateTenant({ seed: 11, referenceDate, users: 40 }));
const graph = createGraphServer([big, small]);

beforeAll(() => graph.listen());
afterAll(() => graph.close());

type Page = { value: Record<string, unknown>[]; '@odata.nextLink'?: string; '@odata.context': string };

describe('Graph v1.0 handlers', () => {
  it('pages through 10,000 users returning each exactly once', async () => {
    const call = await signIn(big);
    for (const top of [999, 100]) {
      let pages = 0;
      const seen: string[] = [];
      let next: string | undefined = `users?$top=${top}&$select=id,displayName`;
      while (next !== undefined) {
        const page: Page = await call.json<Page>('GET', next);
        pages++;
        expect(page.value.length).toBeLessThanOrEqual(top);
        seen.push(...page.value.map((u) => u['id'] as string));
        next = page['@odata.nextLink'];
      }
      expect(pages).toBe(Math.ceil(10_000 / top));
      expect(seen).toHaveLength(10_000);
      expect(new Set(seen)).toEqual(new Set(big.directory.list('user').map((u) => u.id)));
    }
  });

  it('defaults to 100 a page, refuses $top above 999, and honours $select', async () => {
    const call = await signIn(big);
    const first = await call.json<Page>('GET', 'users?$select=displayName');
    expect(first.value).toHaveLength(100);
    expect(first['@odata.context']).toBe(`${GRAPH_BASE}/$metadata#users(displayName)`);
    // Only what was selected: Graph adds no id (user-list.md).
    expect(Object.keys(first.value[0]!).sort()).toEqual(['displayName']);
    expect(first['@odata.nextLink']).toContain('$skiptoken=');
    expect((await call('GET', 'users?$top=1000')).status).toBe(400);
  });

  it('answers 401 without a token and invalid_client for a wrong secret', async () => {
    const bare = await fetch(`${GRAPH_BASE}/users`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
    expect((await fetch(`${GRAPH_BASE}/users`, { headers: { authorization: 'Bearer forged' } })).status).toBe(401);
    const wrong = await tokenResponse(big, 'not-the-secret');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client', error_description: expect.stringContaining('AADSTS7000215') });
    const ok = await tokenResponse(big);
    expect(await ok.json()).toMatchObject({ token_type: 'Bearer', expires_in: 3599, access_token: expect.any(String) });
  });

  it('serves several tenants at once, each its own directory behind its own credentials', async () => {
    const id = big.directory.list('user')[0]!.id;
    const [a, b] = await Promise.all([(await signIn(big)).json('GET', `users/${id}`), (await signIn(small)).json<Page>('GET', 'users')]);
    expect(a['id']).toBe(id);
    expect(b.value).toHaveLength(40);
    // A token of one tenant does not open another tenant's objects.
    const cross = await (await signIn(small))('GET', `users/${id}`);
    expect(cross.status).toBe(404);
    expect(((await cross.json()) as { error: { code: string } }).error.code).toBe('Request_ResourceNotFound');
  });

  it('moves a deleted user to deletedItems and restores it with the same id', async () => {
    const call = await signIn(small);
    const user = small.directory.list('user')[5]!;
    expect((await call('DELETE', `users/${user.id}`)).status).toBe(204);
    expect((await call('GET', `users/${user.id}`)).status).toBe(404);
    const binned = (await call.json<Page>('GET', 'directory/deletedItems/microsoft.graph.user?$select=id,deletedDateTime')).value;
    expect(binned.map((u) => u['id'])).toContain(user.id);
    expect(binned.find((u) => u['id'] === user.id)!['deletedDateTime']).toEqual(expect.any(String));
    const restored = await call.json('POST', `directory/deletedItems/${user.id}/restore`, { body: {} });
    expect(restored).toMatchObject({ id: user.id, '@odata.type': '#microsoft.graph.user', displayName: user.displayName });
    expect((await call.json<Page>('GET', 'directory/deletedItems/microsoft.graph.user')).value).toHaveLength(0);
  });

  it('adds and removes group members by $ref: 204, 400 for a duplicate, 404 for an unknown object', async () => {
    const call = await signIn(small);
    const group = small.directory.list('group')[0]!;
    const members = small.directory.members('group', group.id, 'members');
    const outsider = small.directory.list('user').find((u) => !members.includes(u.id))!;
    const ref = (id: string) => ({ body: { '@odata.id': `${GRAPH_BASE}/directoryObjects/${id}` } });
    expect((await call('POST', `groups/${group.id}/members/$ref`, ref(outsider.id))).status).toBe(204);
    const listed = (await call.json<Page>('GET', `groups/${group.id}/members`)).value;
    expect(listed.find((m) => m['id'] === outsider.id)).toMatchObject({ '@odata.type': '#microsoft.graph.user' });
    expect((await call('POST', `groups/${group.id}/members/$ref`, ref(outsider.id))).status).toBe(400);
    expect((await call('POST', `groups/${group.id}/members/$ref`, ref('00000000-0000-4000-8000-000000000000'))).status).toBe(404);
    expect((await call('DELETE', `groups/${group.id}/members/${outsider.id}/$ref`)).status).toBe(204);
    expect(small.directory.members('group', group.id, 'members')).toEqual(members);
  });

  it('creates, patches and deletes; read-only properties are refused', async () => {
    const call = await signIn(small);
    const created = await call.json<{ id: string; deviceId: string }>('POST', 'devices', { body: { displayName: 'LAPTOP-1', operatingSystem: 'Windows', operatingSystemVersion: '10.0', accountEnabled: true, deviceId: '4c299165-6e8f-4b45-a5ba-c5d250a707ff' } });
    expect(created.deviceId).toEqual(expect.any(String));
    expect((await call('PATCH', `devices/${created.id}`, { body: { displayName: 'LAPTOP-2' } })).status).toBe(204);
    expect(await call.json('GET', `devices/${created.id}`)).toMatchObject({ displayName: 'LAPTOP-2' });
    expect((await call('PATCH', `devices/${created.id}`, { body: { id: 'x' } })).status).toBe(400);
    expect((await call('DELETE', `devices/${created.id}`)).status).toBe(204);
    // Devices are not soft-deleted.
    expect((await call('GET', `directory/deletedItems/${created.id}`)).status).toBe(404);
    const role = small.directory.list('directoryRole')[0]!;
    expect((await call('DELETE', `directoryRoles/${role.id}`)).status).toBe(405);
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

  it('throttles with 429 TooManyRequests and Retry-After, and 503 ServiceUnavailable', async () => {
    const call = await signIn(small);
    small.faults.throttleNext(1, 7);
    const throttled = await call('GET', 'users');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(((await throttled.json()) as { error: { code: string } }).error.code).toBe('TooManyRequests');
    small.faults.unavailableNext(1, 1);
    expect((await call('GET', 'users')).status).toBe(503);
    expect((await call('GET', 'users')).status).toBe(200);
    small.faults.clear();
  });
});
