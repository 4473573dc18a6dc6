import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphControl, loopbackFetch, startGraphHttp, type GraphHttpServer } from '../src/graph-http.ts';
import { signIn, tokenResponse } from './graph-fetch.ts';

let server: GraphHttpServer;
beforeAll(async () => {
  server = await startGraphHttp();
});
afterAll(() => server.close());

describe('Graph over loopback HTTP', () => {
  it('serves a tenant made through the control endpoint, next links included, and applies changes', async () => {
    const control = new GraphControl(server.url);
    const t = await control.createTenant({ seed: 11, users: 300, referenceDate: new Date('2026-01-01T00:00:00Z') });
    expect(t.counts.user).toBe(300);
    const call = await signIn(t, loopbackFetch(server.url));
    const first = await call.json<{ value: { id: string }[]; '@odata.nextLink': string }>('GET', 'users?$top=200&$select=id');
    const second = await call.json<{ value: { id: string }[] }>('GET', first['@odata.nextLink']);
    expect([...first.value, ...second.value].map((u) => u.id)).toEqual(await control.ids(t.tenantId, 'user'));

    await control.checkpoint(t.tenantId);
    expect(await control.differences(t.tenantId)).toEqual([]);
    const [a, b] = await control.ids(t.tenantId, 'user');
    await control.change(t.tenantId, [
      { op: 'update', kind: 'user', id: a!, changes: { jobTitle: 'changed' } },
      { op: 'remove', kind: 'user', id: b! },
    ]);
    const differences = JSON.stringify(await control.differences(t.tenantId));
    expect(differences).toContain(a);
    expect(differences).toContain(b);
    const binned = await call.json<{ value: { id: string }[] }>('GET', 'directory/deletedItems/microsoft.graph.user');
    expect(binned.value.map((u) => u.id)).toEqual([b]);
  });

  it('refuses a wrong client secret as the identity platform does, over HTTP', async () => {
    const control = new GraphControl(server.url);
    const t = await control.createTenant({ seed: 12, users: 5, referenceDate: new Date('2026-01-01T00:00:00Z') });
    const wrong = await tokenResponse(t, 'wrong', loopbackFetch(server.url));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
    await control.removeTenant(t.tenantId);
    await expect(control.tenant(t.tenantId)).rejects.toThrow('404');
  });
});
