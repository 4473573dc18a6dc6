import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDirectories } from '../../src/directory-state.ts';
import { GraphClient } from '../../src/graph-client.ts';
import { readTenant } from '../../src/tenant-read.ts';

/**
 * Regression (issue 20): the mock used to return every stored property without `$select`, so a
 * backup that listed users without one looked complete. Graph returns 11 properties by default
 * (user-list.md); such a reader loses accountEnabled, department, usageLocation, ... and now the mock shows it.
 */
const t = createMockTenant(generateTenant({ seed: 91, referenceDate: new Date('2026-06-01T00:00:00Z'), users: 50 }));
const graph = createGraphServer([t]);
beforeAll(() => graph.listen());
afterAll(() => graph.close());

describe('a reader without $select', () => {
  it('loses every property outside the default set; the provider read with $select loses none', async () => {
    const client = new GraphClient({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret, sleep: async () => {} });
    const naive = await client.list<Record<string, unknown>>('users');
    const user = t.directory.list('user')[0]!;
    const read = naive.find((u) => u['id'] === user.id)!;
    for (const lost of ['accountEnabled', 'department', 'usageLocation', 'mailNickname', 'userType', 'employeeId', 'createdDateTime']) {
      expect(read, lost).not.toHaveProperty(lost);
      expect(user, lost).toHaveProperty(lost);
    }
    expect(Object.keys(read)).toHaveLength(11);
    expect(compareDirectories(t.directory.state(), await readTenant(client))).toEqual([]);
  });
});
