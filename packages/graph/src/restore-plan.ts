import { changedProperties } from './directory-state.ts';
import type { DirectoryState, LinkSet } from './directory-state.ts';
import type { GraphClient } from './graph-client.ts';
import { ENTITY_KINDS, GRAPH_BASE, KINDS } from './model.ts';
import type { Entity, EntityKind, Relation } from './model.ts';

/**
 * One Graph call of an in-place restore. Ids are the snapshot's; an object the restore has
 * to create again gets a new id from Graph, and `executeRestorePlan` maps later operations
 * that name it onto that id.
 */
export type GraphOperation =
  | { readonly op: 'restore'; readonly kind: EntityKind; readonly id: string }
  | { readonly op: 'create'; readonly kind: EntityKind; readonly id: string; readonly body: Readonly<Record<string, unknown>> }
  | { readonly op: 'update'; readonly kind: EntityKind; readonly id: string; readonly changes: Readonly<Record<string, unknown>> }
  | { readonly op: 'unlink'; readonly kind: EntityKind; readonly id: string; readonly relation: Relation; readonly targetId: string }
  | { readonly op: 'link'; readonly kind: EntityKind; readonly id: string; readonly relation: Relation; readonly targetId: string }
  | { readonly op: 'delete'; readonly kind: EntityKind; readonly id: string };

/** Something the restore cannot make equal to the snapshot through Graph, kept as data with its reason. */
export interface Unrestorable {
  readonly kind: EntityKind;
  readonly id: string;
  readonly reason: string;
}

export interface RestorePlan {
  /** In execution order: restore from deletedItems, create, update, unlink, link, delete. */
  readonly operations: readonly GraphOperation[];
  readonly unrestorable: readonly Unrestorable[];
}

const ORDER: Record<GraphOperation['op'], number> = { restore: 0, create: 1, update: 2, unlink: 3, link: 4, delete: 5 };

function writableChanges(kind: EntityKind, expected: object, actual: object): { changes: Record<string, unknown>; readOnly: string[] } {
  const e = expected as Record<string, unknown>;
  const changes: Record<string, unknown> = {};
  const readOnly: string[] = [];
  for (const property of changedProperties(expected, actual)) {
    if (property === 'deletedDateTime') continue;
    if (KINDS[kind].readOnly.includes(property)) readOnly.push(property);
    else changes[property] = e[property] ?? null;
  }
  return { changes, readOnly };
}

/**
 * Diffs a snapshot against the tenant as it is now (both as read through Graph) and lists the
 * Graph calls that put the tenant back in place. What restore means per case:
 * - changed properties: PATCH with the snapshot's values (null clears one the snapshot did not have);
 * - gone, but in the recycle bin (users, groups, applications): restore it (same id), then PATCH
 *   whatever changed before its deletion; its memberships do not come back with it, so they are re-linked;
 * - gone for good: POST it again without its read-only properties; Graph gives it a new id and a new
 *   creation date, which the plan reports as unrestorable because no Graph call can bring the old ones back;
 * - members and owners: `$ref` add what is missing and remove what is extra;
 * - objects the snapshot did not have: DELETE them, because an in-place restore returns the tenant to
 *   the snapshot. Users, groups and applications land in the recycle bin, so this loses nothing for 30
 *   days. Directory roles cannot be deleted or created through Graph (they are activated from
 *   templates), so a role present on one side only is reported instead.
 */
export function planRestore(snapshot: DirectoryState, current: DirectoryState): RestorePlan {
  const operations: GraphOperation[] = [];
  const unrestorable: Unrestorable[] = [];
  const deletedNow = new Map(current.deleted.map((d) => [d.object.id, d]));
  const removed = new Set<string>();
  const unreachable = new Set<string>();

  for (const kind of ENTITY_KINDS) {
    const info = KINDS[kind];
    const live = new Map<string, Entity>(current.objects[kind].map((o) => [o.id, o]));
    const wanted = new Set(snapshot.objects[kind].map((o) => o.id));
    for (const expected of snapshot.objects[kind]) {
      const actual = live.get(expected.id);
      const binned = deletedNow.get(expected.id);
      if (actual !== undefined || (binned !== undefined && binned.kind === kind)) {
        if (actual === undefined) operations.push({ op: 'restore', kind, id: expected.id });
        const { changes, readOnly } = writableChanges(kind, expected, actual ?? binned!.object);
        if (Object.keys(changes).length > 0) operations.push({ op: 'update', kind, id: expected.id, changes });
        for (const p of readOnly) unrestorable.push({ kind, id: expected.id, reason: `read-only property ${p} differs` });
      } else if (info.writable) {
        const body = Object.fromEntries(
          Object.entries(expected).filter(([k, v]) => v !== null && !info.readOnly.includes(k) && !k.startsWith('@odata.')),
        );
        operations.push({ op: 'create', kind, id: expected.id, body });
        unrestorable.push({ kind, id: expected.id, reason: 'deleted permanently; recreated with a new id and creation date' });
      } else {
        unreachable.add(expected.id);
        unrestorable.push({ kind, id: expected.id, reason: `a ${kind} cannot be created through Graph` });
      }
    }
    for (const id of live.keys()) {
      if (wanted.has(id)) continue;
      if (info.writable) {
        operations.push({ op: 'delete', kind, id });
        removed.add(id);
      } else {
        unrestorable.push({ kind, id, reason: `a ${kind} cannot be deleted through Graph` });
      }
    }
  }

  const key = (l: Pick<LinkSet, 'kind' | 'id' | 'relation'>) => `${l.kind}/${l.id}/${l.relation}`;
  const have = new Map(current.links.map((l) => [key(l), new Set(l.targets)]));
  const want = new Map(snapshot.links.map((l) => [key(l), new Set(l.targets)]));
  for (const l of snapshot.links) {
    if (unreachable.has(l.id)) continue;
    const present = have.get(key(l)) ?? new Set<string>();
    for (const targetId of l.targets) {
      if (!present.has(targetId) && !unreachable.has(targetId)) operations.push({ op: 'link', kind: l.kind, id: l.id, relation: l.relation, targetId });
    }
  }
  for (const l of current.links) {
    // Deleting an object already drops it from every collection and drops its own collections.
    if (removed.has(l.id)) continue;
    const expected = want.get(key(l)) ?? new Set<string>();
    for (const targetId of l.targets) {
      if (!expected.has(targetId) && !removed.has(targetId)) operations.push({ op: 'unlink', kind: l.kind, id: l.id, relation: l.relation, targetId });
    }
  }
  operations.sort((a, b) => ORDER[a.op] - ORDER[b.op]);
  return { operations, unrestorable };
}

export interface RestoreOutcome {
  readonly executed: number;
  /** Snapshot id -> id Graph gave an object the restore created again. */
  readonly recreated: ReadonlyMap<string, string>;
}

/** Runs a plan through Graph in order. Stops at the first refusal: the GraphError says which call. */
export async function executeRestorePlan(client: GraphClient, plan: RestorePlan): Promise<RestoreOutcome> {
  const recreated = new Map<string, string>();
  const at = (id: string) => recreated.get(id) ?? id;
  let executed = 0;
  for (const o of plan.operations) {
    const path = KINDS[o.kind].path;
    switch (o.op) {
      case 'restore':
        await client.post(`directory/deletedItems/${o.id}/restore`, {});
        break;
      case 'create': {
        const created = await client.post<{ id: string }>(path, o.body);
        recreated.set(o.id, created.id);
        break;
      }
      case 'update':
        await client.patch(`${path}/${at(o.id)}`, o.changes);
        break;
      case 'unlink':
        await client.delete(`${path}/${at(o.id)}/${o.relation}/${at(o.targetId)}/$ref`);
        break;
      case 'link':
        await client.post(`${path}/${at(o.id)}/${o.relation}/$ref`, { '@odata.id': `${GRAPH_BASE}/directoryObjects/${at(o.targetId)}` });
        break;
      case 'delete':
        await client.delete(`${path}/${at(o.id)}`);
        break;
    }
    executed++;
  }
  return { executed, recreated };
}
