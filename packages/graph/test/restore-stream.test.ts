import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import type { DirectoryState } from '../src/directory-state.ts';
import { GraphClient } from '../src/graph-client.ts';
import { GRAPH_BASE } from '../src/model.ts';
import { planRestore } from '../src/restore-plan.ts';
import { planRestoreInPages, type PartStream } from '../src/restore-stream.ts';
import { readTenant, readTenantParts, TENANT_PARTS } from '../src/tenant-read.ts';

const referenceDate = new Date('2026-06-01T00:00:00Z');
const graph = createGraphServer();
beforeAll(() => graph.listen());
afterAll(() => graph.close());

/** A state handed out part by part, each item a fresh copy (as decrypting a snapshot part makes them). */
function partsOf(state: DirectoryState): () => AsyncIterable<PartStream> {
  return async function* () {
    for (const part of TENANT_PARTS) {
      const items = part === 'links' ? state.links : part === 'deleted' ? state.deleted : state.objects[part];
      yield {
        part,
        items: (async function* () {
          for (const item of items) yield structuredClone(item);
        })(),
      };
    }
  };
}

function tenant(seed: number, users: number) {
  const t = createMockTenant(generateTenant({ seed, referenceDate, users }));
  graph.addTenant(t);
  const client = new GraphClient({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret, sleep: async () => {} });
  return { t, client };
}

describe('planRestoreInPages', () => {
  it.each([31, 32, 33])('gives exactly the plan planRestore gives, operation for operation, after mixed changes (seed %i)', async (seed) => {
    const { t, client } = tenant(seed, 400);
    const snapshot = await readTenant(client);
    const users = snapshot.objects.user;
    const pick = <T>(xs: readonly T[], i: number) => xs[(i * 7919 + seed) % xs.length]!;
    await client.patch(`users/${pick(users, 1).id}`, { jobTitle: 'Changed', department: null });
    await client.patch(`users/${pick(users, 2).id}`, { officeLocation: '1/1' });
    await client.delete(`users/${pick(users, 3).id}`); // to the recycle bin: restored, re-linked
    await client.delete(`groups/${pick(snapshot.objects.group, 4).id}`);
    await client.delete(`devices/${pick(snapshot.objects.device, 5).id}`); // gone for good: recreated, references patched
    const group = pick(snapshot.objects.group, 6);
    const members = t.directory.members('group', group.id, 'members');
    if (members[0] !== undefined) await client.delete(`groups/${group.id}/members/${members[0]}/$ref`).catch(() => undefined);
    const outsider = users.find((u) => !members.includes(u.id) && u.id !== pick(users, 3).id)!;
    await client.post(`groups/${group.id}/members/$ref`, { '@odata.id': `${GRAPH_BASE}/directoryObjects/${outsider.id}` }).catch(() => undefined);
    await client.post('users', { displayName: 'Intruder', accountEnabled: true, userPrincipalName: `intruder${seed}@example.com`, mailNickname: 'intruder', passwordProfile: { password: 'xWwvJ]6NMw+bWH-d' } });
    await client.patch(`identity/conditionalAccess/policies/${pick(snapshot.objects.conditionalAccessPolicy, 7).id}`, { state: 'disabled' });

    const current = await readTenant(client);
    const expected = planRestore({ ...snapshot, deleted: current.deleted }, current);
    expect(expected.operations.length).toBeGreaterThan(5);
    const paged = await planRestoreInPages(partsOf(snapshot), readTenantParts(client));
    expect(paged).toEqual(expected);
  });

  it('finds nothing to do when nothing changed', async () => {
    const { client } = tenant(34, 200);
    const snapshot = await readTenant(client);
    const stats = { heldCurrent: -1, heldSnapshot: -1 };
    expect(await planRestoreInPages(partsOf(snapshot), readTenantParts(client), stats)).toEqual({ operations: [], unrestorable: [] });
    expect(stats).toEqual({ heldCurrent: 0, heldSnapshot: 0 });
  });

  it('keeps no object of either side that is the same in both: what survives planning is bounded by the differences, not the tenant', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = 20_000;
    const changed = new Set([17, 4_000, 19_999]);
    const alive: WeakRef<object>[] = [];
    const user = (i: number, live: boolean) => ({ id: `u${i}`, displayName: `User ${i}`, jobTitle: live && changed.has(i) ? 'changed' : 'clerk' });
    const side = (live: boolean) =>
      async function* (): AsyncIterable<PartStream> {
        for (const part of TENANT_PARTS) {
          yield {
            part,
            items: (async function* () {
              if (part !== 'user') return;
              for (let i = 0; i < n; i++) {
                const o = user(i, live);
                alive.push(new WeakRef(o));
                yield o;
              }
            })(),
          };
        }
      };
    const stats = { heldCurrent: 0, heldSnapshot: 0 };
    const plan = await planRestoreInPages(side(false), side(true)(), stats);
    expect(plan.operations).toEqual([...changed].map((i) => ({ op: 'update', kind: 'user', id: `u${i}`, changes: { jobTitle: 'clerk' } })));
    expect(stats.heldCurrent).toBe(changed.size);
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    // Two snapshot reads and one live read of n objects each: a planner that kept either side whole would keep >= n alive.
    expect(alive.length).toBe(3 * n);
    expect(alive.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(changed.size + 10);
  });
});
