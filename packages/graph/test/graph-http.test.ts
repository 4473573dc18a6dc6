import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphControl, loopbackFetch, startGraphHttp, type GraphHttpServer } from '@ekm/entra-mock';
import { GraphClient } from '../src/graph-client.ts';
import { readTenant } from '../src/tenant-read.ts';

let server: GraphHttpServer;
beforeAll(async () => {
  server = await startGraphHttp();
});
afterAll(() => server.close());

describe('Graph over loopback HTTP', () => {
  it('serves a tenant made through the control endpoint to a GraphClient whose fetch points at it', async () => {
    const control = new GraphControl(server.url);
    const t = await control.createTenant({ seed: 11, users: 300, referenceDate: new Date('2026-01-01T00:00:00Z') });
    expect(t.counts.user).toBe(300);
    const client = new GraphClient({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret, fetch: loopbackFetch(server.url), sleep: async () => {} });
    const read = await readTenant(client);
    // Pages of 999 at most: 300 users in one page, and next links must come back through the loopback too.
    expect(read).toEqual(await control.state(t.tenantId));
    // The token, every first page in one $batch, the relations in further batches: all through the loopback.
    expect(client.requests).toBeGreaterThan(2);

    await control.checkpoint(t.tenantId);
    expect(await control.differences(t.tenantId)).toEqual([]);
    const [first, second] = await control.ids(t.tenantId, 'user');
    await control.change(t.tenantId, [
      { op: 'update', kind: 'user', id: first!, changes: { jobTitle: 'changed' } },
      { op: 'remove', kind: 'user', id: second! },
    ]);
    const differences = JSON.stringify(await control.differences(t.tenantId));
    expect(differences).toContain(first);
    expect(differences).toContain(second);
    expect((await readTenant(client)).deleted.some((d) => d.object.id === second)).toBe(true);
  });

  it('refuses a wrong client secret as the identity platform does, over HTTP', async () => {
    const control = new GraphControl(server.url);
    const t = await control.createTenant({ seed: 12, users: 5, referenceDate: new Date('2026-01-01T00:00:00Z') });
    const client = new GraphClient({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: 'wrong', fetch: loopbackFetch(server.url), sleep: async () => {} });
    await expect(client.get('users')).rejects.toMatchObject({ name: 'GraphError', status: 401, graphCode: 'invalid_client' });
    await control.removeTenant(t.tenantId);
    await expect(control.tenant(t.tenantId)).rejects.toThrow('404');
  });
});
