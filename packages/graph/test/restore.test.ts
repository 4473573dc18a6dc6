import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import type { MockTenant } from '@ekm/entra-mock';
import { compareDirectories, restorableDifferences } from '../src/directory-state.ts';
import { GraphClient } from '../src/graph-client.ts';
import { GRAPH_BASE } from '../src/model.ts';
import { executeRestorePlan, planRestore } from '../src/restore-plan.ts';
import { readTenant } from '../src/tenant-read.ts';

const referenceDate = new Date('2026-06-01T00:00:00Z');
const graph = createGraphServer();
beforeAll(() => graph.listen());
afterAll(() => graph.close());

function tenant(seed: number, users: number): { t: MockTenant; client: GraphClient; delays: number[] } {
  const t = createMockTenant(generateTenant({ seed, referenceDate, users }));
  graph.addTenant(t);
  const delays: number[] = [];
  const client = new GraphClient({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret, sleep: async (ms) => void delays.push(ms) });
  return { t, client, delays };
}

describe('backup read and in-place restore through Graph', () => {
  it('reads back exactly the tenant it was generated as', async () => {
    const { t, client } = tenant(20, 300);
    const backup = await readTenant(client);
    expect(compareDirectories(t.directory.state(), backup)).toEqual([]);
    expect(JSON.stringify(backup.links)).toBe(JSON.stringify(t.directory.state().links));
  });

  it('after mutations, planning and executing the restore gives the original back, with no difference', async () => {
    const { t, client } = tenant(21, 500);
    const snapshot = await readTenant(client);
    // Expected values come from the backup: the directory's own objects change in place.
    const users = snapshot.objects.user;
    const group = t.directory.list('group')[0]!;
    const groupMember = t.directory.members('group', group.id, 'members')[0]!;
    const owner = t.directory.members('group', group.id, 'owners')[0]!;
    const role = t.directory.list('directoryRole')[0]!;
    const roleMember = t.directory.members('directoryRole', role.id, 'members')[0]!;
    const victim = users.find((u) => u.id === groupMember)!;
    const outsider = users.find((u) => !t.directory.members('group', group.id, 'members').includes(u.id))!;

    // Mutations as an admin would make them, through Graph.
    await client.patch(`users/${users[1]!.id}`, { jobTitle: 'Changed', department: null, officeLocation: '99/999' });
    await client.patch(`groups/${group.id}`, { description: 'renamed by mistake' });
    await client.delete(`users/${victim.id}`); // a group member, maybe an owner or role holder: all links go
    await client.delete(`groups/${group.id}/owners/${owner}/$ref`).catch(() => undefined); // already gone if owner was the victim
    await client.post(`groups/${group.id}/members/$ref`, { '@odata.id': `${GRAPH_BASE}/directoryObjects/${outsider.id}` });
    await client.delete(`directoryRoles/${role.id}/members/${roleMember}/$ref`).catch(() => undefined);
    await client.delete(`applications/${t.directory.list('application')[0]!.id}`);
    // A Microsoft 365 group: it comes back from the recycle bin without members or owners (group-delete.md).
    const deletedGroup = snapshot.objects.group.find((g) => g.id !== group.id && (g.groupTypes ?? []).includes('Unified'))!;
    await client.delete(`groups/${deletedGroup.id}`);
    const intruder = await client.post<{ id: string }>('users', { displayName: 'Intruder', accountEnabled: true, userPrincipalName: 'intruder@example.com', mailNickname: 'intruder', passwordProfile: { password: 'xWwvJ]6NMw+bWH-d' } });
    await client.patch(`identity/conditionalAccess/policies/${t.directory.list('conditionalAccessPolicy')[0]!.id}`, { state: 'disabled', grantControls: null });

    const before = compareDirectories(snapshot, await readTenant(client));
    expect(before).toContainEqual({ kind: 'user', id: victim.id, change: 'missing' });
    expect(before).toContainEqual({ kind: 'user', id: intruder.id, change: 'unexpected' });
    expect(before).toContainEqual({ kind: 'user', id: users[1]!.id, change: 'changed', property: 'jobTitle', expected: users[1]!.jobTitle, actual: 'Changed' });
    expect(before).toContainEqual({ kind: 'group', id: group.id, change: 'linkMissing', property: 'members', targetId: victim.id });
    expect(before).toContainEqual({ kind: 'group', id: group.id, change: 'linkUnexpected', property: 'members', targetId: outsider.id });

    const current = await readTenant(client);
    const plan = planRestore(snapshot, current);
    // Graph stamps modifiedDateTime on every PATCH (conditionalaccesspolicy.md: read-only): reported, not hidden.
    const policy = snapshot.objects.conditionalAccessPolicy[0]!;
    expect(plan.unrestorable).toEqual([{ kind: 'conditionalAccessPolicy', id: policy.id, name: policy.displayName, reason: 'read-only property modifiedDateTime differs' }]);
    expect(plan.operations).toContainEqual({ op: 'restore', kind: 'user', id: victim.id });
    expect(plan.operations).toContainEqual({ op: 'link', kind: 'group', id: group.id, relation: 'members', targetId: victim.id });
    expect(plan.operations).toContainEqual({ op: 'unlink', kind: 'group', id: group.id, relation: 'members', targetId: outsider.id });
    expect(plan.operations).toContainEqual({ op: 'delete', kind: 'user', id: intruder.id });
    expect(plan.operations).toContainEqual({ op: 'restore', kind: 'group', id: deletedGroup.id });
    const relinked = plan.operations.filter((o) => o.op === 'link' && o.id === deletedGroup.id).length;
    expect(relinked).toBe(snapshot.links.filter((l) => l.id === deletedGroup.id).reduce((n, l) => n + l.targets.length, 0));
    expect(plan.operations.find((o) => o.op === 'update' && o.id === users[1]!.id)).toMatchObject({
      changes: { jobTitle: users[1]!.jobTitle, department: users[1]!.department, officeLocation: users[1]!.officeLocation },
    });

    const outcome = await executeRestorePlan(client, plan);
    expect(outcome.executed).toBe(plan.operations.length);
    expect(restorableDifferences(snapshot, await readTenant(client))).toEqual([]);
    expect(compareDirectories(snapshot, await readTenant(client))).toEqual([
      { kind: 'conditionalAccessPolicy', id: policy.id, change: 'changed', property: 'modifiedDateTime', expected: policy.modifiedDateTime, actual: expect.any(String) },
    ]);
    // The restored user is the same object, not a copy: same id, out of the recycle bin.
    expect(t.directory.get('user', victim.id)?.userPrincipalName).toBe(victim.userPrincipalName);
    expect(t.directory.deletedItems('user').map((d) => d.object.id)).toEqual([intruder.id]);
    // Restoring again finds nothing to do.
    expect(planRestore(snapshot, await readTenant(client)).operations).toEqual([]);
    void t;
  });

  it('reports by name what Graph cannot restore: a device deleted for good comes back under a new id; an administrative unit comes back from deletedItems', async () => {
    const { t, client } = tenant(22, 60);
    const snapshot = await readTenant(client);
    const device = snapshot.objects.device[0]!;
    const unit = snapshot.objects.administrativeUnit[0]!;
    const unitMembers = t.directory.members('administrativeUnit', unit.id, 'members');
    await client.delete(`devices/${device.id}`);
    await client.delete(`directory/administrativeUnits/${unit.id}`);
    const plan = planRestore(snapshot, await readTenant(client));
    expect(plan.unrestorable).toEqual([{ kind: 'device', id: device.id, name: device.displayName, reason: expect.stringContaining('new id') }]);
    expect(plan.operations).toContainEqual({ op: 'restore', kind: 'administrativeUnit', id: unit.id });
    const { recreated } = await executeRestorePlan(client, plan);
    const newId = recreated.get(device.id)!;
    // directory-deleteditems-restore.md: the same object, members re-linked by the plan.
    expect(t.directory.members('administrativeUnit', unit.id, 'members')).toEqual(unitMembers);
    const owners = snapshot.links.filter((l) => l.id === device.id).flatMap((l) => l.targets);
    expect(t.directory.members('device', newId, 'registeredOwners')).toEqual(owners);
    const differences = compareDirectories(snapshot, await readTenant(client));
    expect(differences).toEqual([
      { kind: 'device', id: device.id, change: 'missing' },
      { kind: 'device', id: newId, change: 'unexpected' },
      ...owners.map((targetId) => ({ kind: 'device', id: device.id, change: 'linkMissing', property: 'registeredOwners', targetId })),
      ...owners.map((targetId) => ({ kind: 'device', id: newId, change: 'linkUnexpected', property: 'registeredOwners', targetId })),
    ]);
    const { id: _c, ...rest } = device;
    expect(t.directory.get('device', newId)).toMatchObject(rest);
  });

  it('rides out a 429 storm during a full backup read and a restore', async () => {
    const { t, client, delays } = tenant(23, 2000);
    const expected = t.directory.state();
    t.faults.throttleNext(5, 2);
    t.faults.throttleFraction(0.3, 4242, 1);
    const backup = await readTenant(client);
    expect(t.faults.faulted).toBeGreaterThan(50);
    expect(client.retries).toBe(t.faults.faulted);
    // The five throttled first pages came in one $batch: they are sent again together, after their Retry-After of 2 s, once.
    expect(delays[0]).toBe(2000);
    expect(delays.filter((d) => d === 2000)).toHaveLength(1);
    expect(compareDirectories(expected, backup)).toEqual([]);
    await client.delete(`users/${t.directory.list('user')[3]!.id}`);
    await executeRestorePlan(client, planRestore(backup, await readTenant(client)));
    t.faults.clear();
    expect(compareDirectories(expected, t.directory.state())).toEqual([]);
  });

  it('reads a 10,000-user tenant through MSW in seconds', async () => {
    const { t, client } = tenant(24, 10_000);
    const started = performance.now();
    const backup = await readTenant(client);
    const ms = performance.now() - started;
    console.info(`readTenant: 10,000 users, ${t.directory.count('group')} groups, ${t.directory.count('device')} devices, ${client.requests} requests in ${Math.round(ms)} ms`);
    expect(backup.objects.user).toHaveLength(10_000);
    expect(compareDirectories(t.directory.state(), backup)).toEqual([]);
    expect(ms).toBeLessThan(30_000);
  }, 60_000);
});
