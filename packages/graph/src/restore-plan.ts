import { randomBytes } from 'node:crypto';
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

/** Something the restore cannot make equal to the snapshot through Graph, kept as data with its reason and the object's name. */
export interface Unrestorable {
  readonly kind: EntityKind;
  readonly id: string;
  /** displayName (or userPrincipalName) as the snapshot has it, so a person can find the object. */
  readonly name: string;
  readonly reason: string;
}

export const nameOf = (o: object | undefined, id: string): string => {
  const r = (o ?? {}) as Record<string, unknown>;
  return String(r['displayName'] ?? r['userPrincipalName'] ?? id);
};

export interface RestorePlan {
  /** In execution order: restore from deletedItems, create, update, unlink, link, delete. */
  readonly operations: readonly GraphOperation[];
  readonly unrestorable: readonly Unrestorable[];
}

export const ORDER: Record<GraphOperation['op'], number> = { restore: 0, create: 1, update: 2, unlink: 3, link: 4, delete: 5 };

function writableChanges(kind: EntityKind, expected: object, actual: object): { changes: Record<string, unknown>; readOnly: string[] } {
  const e = expected as Record<string, unknown>;
  const changes: Record<string, unknown> = {};
  const readOnly: string[] = [];
  for (const property of changedProperties(expected, actual)) {
    if (property === 'deletedDateTime') continue;
    if (KINDS[kind].readOnly.includes(property) || KINDS[kind].immutable.includes(property)) readOnly.push(property);
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
 * - gone for good (a security group, a device, a policy, or anything purged from the recycle bin):
 *   POST it again without its read-only properties; Graph gives it a new id and a new creation date,
 *   which the plan reports by name as unrestorable because no Graph call can bring the old ones back.
 *   Its members, owners and memberships are re-linked to the new id, and every object whose
 *   properties name the old id (a conditional access policy's includeGroups) is patched to the new one.
 *   A user recreated this way gets a one-time password made when the plan runs, never stored,
 *   that must be changed at the next sign-in (passwords are never backed up);
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
  const recreated = new Set<string>();
  const names = new Map<string, string>();
  for (const kind of ENTITY_KINDS) for (const o of snapshot.objects[kind]) names.set(o.id, nameOf(o, o.id));
  const report = (kind: EntityKind, id: string, reason: string, object?: object) => unrestorable.push({ kind, id, name: object === undefined ? (names.get(id) ?? id) : nameOf(object, id), reason });

  for (const kind of ENTITY_KINDS) {
    const info = KINDS[kind];
    const live = new Map<string, Entity>(current.objects[kind].map((o) => [o.id, o]));
    const wanted = new Set(snapshot.objects[kind].map((o) => o.id));
    for (const expected of snapshot.objects[kind]) {
      const outcome = planObject(kind, expected, live.get(expected.id), deletedNow.get(expected.id), operations, report);
      if (outcome === 'recreated') recreated.add(expected.id);
      else if (outcome === 'unreachable') unreachable.add(expected.id);
    }
    for (const id of live.keys()) {
      if (wanted.has(id)) continue;
      if (info.writable) {
        operations.push({ op: 'delete', kind, id });
        removed.add(id);
      } else {
        report(kind, id, `a ${kind} cannot be deleted through Graph`, live.get(id));
      }
    }
  }

  // Properties naming a recreated object's old id point at nothing: patch them with the snapshot's value, which execution maps onto the new id.
  if (recreated.size > 0) {
    for (const kind of ENTITY_KINDS.filter((k) => KINDS[k].writable)) {
      for (const o of snapshot.objects[kind]) {
        if (recreated.has(o.id) || unreachable.has(o.id)) continue;
        const changes = recreatedReferences(kind, o, recreated);
        if (Object.keys(changes).length === 0) continue;
        const existing = operations.find((op): op is Extract<GraphOperation, { op: 'update' }> => op.op === 'update' && op.id === o.id);
        if (existing !== undefined) operations[operations.indexOf(existing)] = { ...existing, changes: { ...existing.changes, ...changes } };
        else operations.push({ op: 'update', kind, id: o.id, changes });
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

/**
 * The operations for one snapshot object against the same object now (live, or in the recycle bin,
 * or neither), pushed onto `operations`; what cannot be made equal is reported. Shared by
 * `planRestore` and the paged planner, so both say the same thing of every object.
 */
export function planObject(
  kind: EntityKind,
  expected: Entity,
  actual: Entity | undefined,
  binned: { readonly kind: EntityKind; readonly object: Entity } | undefined,
  operations: GraphOperation[],
  report: (kind: EntityKind, id: string, reason: string) => void,
): 'kept' | 'recreated' | 'unreachable' {
  const info = KINDS[kind];
  if (actual !== undefined || (binned !== undefined && binned.kind === kind)) {
    if (actual === undefined) operations.push({ op: 'restore', kind, id: expected.id });
    const { changes, readOnly } = writableChanges(kind, expected, actual ?? binned!.object);
    if (Object.keys(changes).length > 0) operations.push({ op: 'update', kind, id: expected.id, changes });
    for (const p of readOnly) report(kind, expected.id, `read-only property ${p} differs`);
    return 'kept';
  }
  if (info.writable) {
    const body = Object.fromEntries(Object.entries(expected).filter(([k, v]) => v !== null && !info.readOnly.includes(k) && !k.startsWith('@odata.')));
    operations.push({ op: 'create', kind, id: expected.id, body });
    report(kind, expected.id, kind === 'user' ? 'deleted permanently; recreated with a new id, creation date and a one-time password to change at sign-in' : 'deleted permanently; recreated with a new id and creation date');
    return 'recreated';
  }
  report(kind, expected.id, `a ${kind} cannot be created through Graph`);
  return 'unreachable';
}

/** The properties of a snapshot object that name an object recreated under a new id: patched with the snapshot's value, which execution maps onto the new id. */
export function recreatedReferences(kind: EntityKind, o: Entity, recreated: ReadonlySet<string>): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const [p, v] of Object.entries(o)) {
    if (KINDS[kind].readOnly.includes(p) || KINDS[kind].immutable.includes(p) || v === null || typeof v !== 'object') continue;
    if ([...recreated].some((id) => JSON.stringify(v).includes(`"${id}"`))) changes[p] = v;
  }
  return changes;
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
  // Ids of objects recreated under a new id, wherever a property value names them.
  const remap = (value: unknown): unknown =>
    typeof value === 'string' ? at(value) : Array.isArray(value) ? value.map(remap) : value !== null && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, remap(v)])) : value;
  let executed = 0;
  for (const o of plan.operations) {
    const path = KINDS[o.kind].path;
    switch (o.op) {
      case 'restore':
        await client.post(`directory/deletedItems/${o.id}/restore`, {});
        break;
      case 'create': {
        const body: Record<string, unknown> = remap(o.body) as Record<string, unknown>;
        // user-post-users.md requires a password; none is ever backed up, so a one-time one is made here and forgotten.
        if (o.kind === 'user') body['passwordProfile'] = { forceChangePasswordNextSignIn: true, password: oneTimePassword() };
        const created = await client.post<{ id: string }>(path, body);
        recreated.set(o.id, created.id);
        break;
      }
      case 'update':
        await client.patch(`${path}/${at(o.id)}`, remap(o.changes));
        break;
      case 'unlink':
        // user-delete-manager.md: the manager reference has no target id in its path.
        if (o.relation === 'manager') await client.delete(`${path}/${at(o.id)}/manager/$ref`);
        else await client.delete(`${path}/${at(o.id)}/${o.relation}/${at(o.targetId)}/$ref`);
        break;
      case 'link': {
        const ref = { '@odata.id': `${GRAPH_BASE}/directoryObjects/${at(o.targetId)}` };
        // user-post-manager.md: a manager is set with PUT, which replaces the one there.
        if (o.relation === 'manager') await client.call('PUT', `${path}/${at(o.id)}/manager/$ref`, ref);
        else await client.post(`${path}/${at(o.id)}/${o.relation}/$ref`, ref);
        break;
      }
      case 'delete':
        await client.delete(`${path}/${at(o.id)}`);
        break;
    }
    executed++;
  }
  return { executed, recreated };
}

/** 24 random characters from all four classes Entra's password policy asks for. */
function oneTimePassword(): string {
  return `${randomBytes(18).toString('base64url')}aA1!`;
}
