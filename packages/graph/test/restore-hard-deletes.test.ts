import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restorableDifferences } from '../src/directory-state.ts';
import type { DirectoryState } from '../src/directory-state.ts';
import { GraphClient } from '../src/graph-client.ts';
import { GRAPH_BASE } from '../src/model.ts';
import { executeRestorePlan, planRestore } from '../src/restore-plan.ts';
import { readTenant } from '../src/tenant-read.ts';

const graph = createGraphServer();
beforeAll(() => graph.listen());
afterAll(() => graph.close());

/** The snapshot with every recreated object's old id replaced by its new one: what the tenant can at best be made equal to. */
function underNewIds(snapshot: DirectoryState, recreated: ReadonlyMap<string, string>): DirectoryState {
  let text = JSON.stringify(snapshot);
  for (const [from, to] of recreated) text = text.replaceAll(from, to);
  return JSON.parse(text) as DirectoryState;
}

describe('restore within what Graph accepts', () => {
  it('security group deleted for good, service principal deleted, manager changed, app owner removed: restored, the rest reported by name', async () => {
    const t = createMockTenant(generateTenant({ seed: 77, referenceDate: new Date('2026-06-01T00:00:00Z'), users: 200 }));
    graph.addTenant(t);
    const client = new GraphClient({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret, sleep: async () => {} });
    const snapshot = await readTenant(client);

    // A security group a conditional access policy names: its id must be re-linked there too.
    const policy = snapshot.objects.conditionalAccessPolicy[0]!;
    const named = policy.conditions!.users!.includeGroups![0]!;
    const security = snapshot.objects.group.find((g) => g.id === named && !(g.groupTypes ?? []).includes('Unified')) ?? snapshot.objects.group.find((g) => !(g.groupTypes ?? []).includes('Unified'))!;
    const sp = snapshot.objects.servicePrincipal.at(-1)!;
    const managerLink = snapshot.links.find((l) => l.relation === 'manager')!;
    const newManager = snapshot.objects.user.find((u) => u.id !== managerLink.id && u.id !== managerLink.targets[0])!;
    const ownerLink = snapshot.links.find((l) => l.kind === 'application' && l.relation === 'owners')!;

    await client.delete(`groups/${security.id}`);
    await client.delete(`servicePrincipals/${sp.id}`);
    await client.call('PUT', `users/${managerLink.id}/manager/$ref`, { '@odata.id': `${GRAPH_BASE}/directoryObjects/${newManager.id}` });
    await client.delete(`applications/${ownerLink.id}/owners/${ownerLink.targets[0]}/$ref`);
    // group-delete.md: a security group is not in deletedItems, so only a new object can stand in for it.
    await expect(client.get(`directory/deletedItems/${security.id}`)).rejects.toMatchObject({ status: 404 });

    const plan = planRestore(snapshot, await readTenant(client));
    expect(plan.operations).toContainEqual({ op: 'restore', kind: 'servicePrincipal', id: sp.id });
    expect(plan.operations).toContainEqual(expect.objectContaining({ op: 'create', kind: 'group', id: security.id }));
    expect(plan.operations).toContainEqual({ op: 'link', kind: 'user', id: managerLink.id, relation: 'manager', targetId: managerLink.targets[0] });
    expect(plan.operations).toContainEqual({ op: 'link', kind: 'application', id: ownerLink.id, relation: 'owners', targetId: ownerLink.targets[0] });
    expect(plan.unrestorable).toEqual([{ kind: 'group', id: security.id, name: security.displayName, reason: expect.stringContaining('recreated with a new id') }]);

    const outcome = await executeRestorePlan(client, plan);
    const newId = outcome.recreated.get(security.id)!;
    expect(newId).not.toBe(security.id);
    const after = await readTenant(client);
    // Nothing the provider claims to restore differs: properties, members, owners, managers, and the policy now names the new group.
    expect(restorableDifferences(underNewIds(snapshot, outcome.recreated), after)).toEqual([]);
    expect(after.objects.servicePrincipal.find((s) => s.id === sp.id)).toMatchObject({ appId: sp.appId, displayName: sp.displayName });
    if (named === security.id) expect(after.objects.conditionalAccessPolicy.find((p) => p.id === policy.id)!.conditions!.users!.includeGroups).toContain(newId);
    graph.removeTenant(t.tenantId);
  });

  it('a user purged from the recycle bin is recreated with a one-time password that is never stored', async () => {
    const t = createMockTenant(generateTenant({ seed: 78, referenceDate: new Date('2026-06-01T00:00:00Z'), users: 30 }));
    graph.addTenant(t);
    const client = new GraphClient({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret, sleep: async () => {} });
    const snapshot = await readTenant(client);
    const user = snapshot.objects.user[4]!;
    await client.delete(`users/${user.id}`);
    await client.delete(`directory/deletedItems/${user.id}`);
    const plan = planRestore(snapshot, await readTenant(client));
    expect(JSON.stringify(plan.operations)).not.toContain('password');
    expect(plan.unrestorable).toEqual([{ kind: 'user', id: user.id, name: user.displayName, reason: expect.stringContaining('one-time password') }]);
    const { recreated } = await executeRestorePlan(client, plan);
    const newId = recreated.get(user.id)!;
    expect(t.directory.hasPassword(newId)).toBe(true);
    expect(await client.get(`users/${newId}?$select=passwordProfile,userPrincipalName`)).toMatchObject({ passwordProfile: null, userPrincipalName: user.userPrincipalName });
    expect(restorableDifferences(underNewIds(snapshot, recreated), await readTenant(client))).toEqual([]);
    graph.removeTenant(t.tenantId);
  });
});
