import { createHash } from 'node:crypto';
import { DigestTable } from './digest-table.ts';
import { canonicalJson } from './directory-state.ts';
import type { DeletedObject, LinkSet } from './directory-state.ts';
import { ENTITY_KINDS, KINDS } from './model.ts';
import type { Entity, EntityKind } from './model.ts';
import { nameOf, ORDER, planObject, recreatedReferences } from './restore-plan.ts';
import type { GraphOperation, RestorePlan, Unrestorable } from './restore-plan.ts';
import type { TenantPart } from './tenant-read.ts';

/** One part of a tenant as a stream of its items (a snapshot part being decrypted, or the tenant being read through Graph). */
export interface PartStream {
  readonly part: TenantPart;
  readonly items: AsyncIterable<unknown>;
}

/** A snapshot that can be read again from its start, part by part in the stored order (each part consumed before the next is asked for). */
export type SnapshotReader = () => AsyncIterable<PartStream>;

/** What the paged planner held at most, for the tests that pin it. */
export interface PlanStats {
  /** Whole objects and link sets of the live tenant kept between passes: only those that differ from the snapshot. */
  heldCurrent: number;
  /** Link sets of the snapshot kept between passes: only those that differ. */
  heldSnapshot: number;
}

/** Marks an entry whose live version equals the snapshot's. */
const SAME = DigestTable.SAME;
const linkKey = (l: Pick<LinkSet, 'kind' | 'id' | 'relation'>) => `${l.kind}/${l.id}/${l.relation}`;

/** 128 bits of SHA-256 (base64) over what `changedProperties` compares: no `@odata` annotations, an absent property equal to null. */
function objectDigest(o: object): string {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined && !k.startsWith('@odata.')) kept[k] = v;
  return createHash('sha256').update(canonicalJson(kept)).digest().subarray(0, 16).toString('base64');
}
/** Link sets compare as sets of targets. */
function linkDigest(l: LinkSet): string {
  return createHash('sha256')
    .update([...new Set(l.targets)].sort().join(','))
    .digest()
    .subarray(0, 16)
    .toString('base64');
}

/**
 * The same plan as `planRestore(snapshot with the live recycle bin, current)`, the same operations in the
 * same order, made without either tenant in memory: a 1,000,000-user tenant is several GB as objects.
 * 1. The snapshot is read once for a digest of every object and link set (a DigestTable: 36 bytes each).
 * 2. The live tenant is read once (Graph pages, as the backup reads it): an object or link set whose
 *    digest matches is marked the same and dropped; only those that differ, and the recycle bin, are kept.
 * 3. The snapshot is read again and planned object by object against what was kept.
 * 4. Only when an object had to be created again: once more, for the properties that name its old id.
 * What is held is a digest per entity plus the differences themselves (which the plan holds anyway).
 */
export async function planRestoreInPages(snapshot: SnapshotReader, current: AsyncIterable<PartStream>, stats: PlanStats = { heldCurrent: 0, heldSnapshot: 0 }): Promise<RestorePlan> {
  const digests = new Map<EntityKind, DigestTable>(ENTITY_KINDS.map((k) => [k, new DigestTable()]));
  const linkDigests = new DigestTable();
  for await (const { part, items } of snapshot()) {
    if (part === 'links') for await (const l of items as AsyncIterable<LinkSet>) linkDigests.set(linkKey(l), linkDigest(l));
    else if (part === 'deleted') for await (const _ of items);
    else {
      const of = digests.get(part)!;
      for await (const o of items as AsyncIterable<Entity>) of.set(o.id, objectDigest(o));
    }
  }

  // The live tenant: what differs, in the order Graph listed it.
  const differing = new Map<EntityKind, Map<string, Entity>>(ENTITY_KINDS.map((k) => [k, new Map()]));
  const unwanted = new Map<EntityKind, { id: string; name: string }[]>(ENTITY_KINDS.map((k) => [k, []]));
  const liveLinks = new Map<string, LinkSet>();
  const deletedNow = new Map<string, DeletedObject>();
  for await (const { part, items } of current) {
    if (part === 'links') {
      for await (const l of items as AsyncIterable<LinkSet>) {
        const k = linkKey(l);
        if (linkDigests.get(k) === linkDigest(l)) linkDigests.set(k, SAME);
        else liveLinks.set(k, l);
      }
    } else if (part === 'deleted') {
      for await (const d of items as AsyncIterable<DeletedObject>) deletedNow.set(d.object.id, d);
    } else {
      const of = digests.get(part)!;
      for await (const o of items as AsyncIterable<Entity>) {
        const expected = of.get(o.id);
        if (expected === undefined) unwanted.get(part)!.push({ id: o.id, name: nameOf(o, o.id) });
        else if (expected === objectDigest(o)) of.set(o.id, SAME);
        else differing.get(part)!.set(o.id, o);
      }
    }
  }
  stats.heldCurrent = [...differing.values()].reduce((n, m) => n + m.size, 0) + liveLinks.size;

  const operations: GraphOperation[] = [];
  const unrestorable: Unrestorable[] = [];
  const removed = new Set<string>();
  const unreachable = new Set<string>();
  const recreated = new Set<string>();
  /** Snapshot link sets that differ from the live ones, for the unlinks. */
  const wantedLinks = new Map<string, Set<string>>();
  for await (const { part, items } of snapshot()) {
    if (part === 'deleted') {
      for await (const _ of items);
    } else if (part === 'links') {
      for await (const l of items as AsyncIterable<LinkSet>) {
        const k = linkKey(l);
        // Unchanged: every target is there already.
        if (linkDigests.get(k) === SAME) continue;
        wantedLinks.set(k, new Set(l.targets));
        if (unreachable.has(l.id)) continue;
        const present = new Set(liveLinks.get(k)?.targets ?? []);
        for (const targetId of l.targets) {
          if (!present.has(targetId) && !unreachable.has(targetId)) operations.push({ op: 'link', kind: l.kind, id: l.id, relation: l.relation, targetId });
        }
      }
      stats.heldSnapshot = wantedLinks.size;
      for (const l of liveLinks.values()) {
        // Deleting an object already drops it from every collection and drops its own collections.
        if (removed.has(l.id)) continue;
        const expected = wantedLinks.get(linkKey(l)) ?? new Set<string>();
        for (const targetId of l.targets) {
          if (!expected.has(targetId) && !removed.has(targetId)) operations.push({ op: 'unlink', kind: l.kind, id: l.id, relation: l.relation, targetId });
        }
      }
    } else {
      const kind = part;
      const of = digests.get(kind)!;
      const live = differing.get(kind)!;
      for await (const expected of items as AsyncIterable<Entity>) {
        if (of.get(expected.id) === SAME) continue;
        const report = (k: EntityKind, id: string, reason: string) => unrestorable.push({ kind: k, id, name: nameOf(expected, id), reason });
        const outcome = planObject(kind, expected, live.get(expected.id), deletedNow.get(expected.id), operations, report);
        if (outcome === 'recreated') recreated.add(expected.id);
        else if (outcome === 'unreachable') unreachable.add(expected.id);
      }
      for (const { id, name } of unwanted.get(kind)!) {
        if (KINDS[kind].writable) {
          operations.push({ op: 'delete', kind, id });
          removed.add(id);
        } else unrestorable.push({ kind, id, name, reason: `a ${kind} cannot be deleted through Graph` });
      }
      digests.delete(kind);
      differing.delete(kind);
    }
  }

  // Properties naming a recreated object's old id point at nothing: patch them (one more read, only when something was recreated).
  if (recreated.size > 0) {
    const patches: GraphOperation[] = [];
    const updates = new Map<string, number>();
    operations.forEach((op, i) => {
      if (op.op === 'update' && !updates.has(op.id)) updates.set(op.id, i);
    });
    for await (const { part, items } of snapshot()) {
      if (part === 'links' || part === 'deleted' || !KINDS[part].writable) {
        for await (const _ of items);
        continue;
      }
      for await (const o of items as AsyncIterable<Entity>) {
        if (recreated.has(o.id) || unreachable.has(o.id)) continue;
        const changes = recreatedReferences(part, o, recreated);
        if (Object.keys(changes).length === 0) continue;
        const at = updates.get(o.id);
        const existing = at === undefined ? undefined : operations[at];
        if (existing !== undefined && existing.op === 'update') operations[at!] = { ...existing, changes: { ...existing.changes, ...changes } };
        else patches.push({ op: 'update', kind: part, id: o.id, changes });
      }
    }
    operations.push(...patches);
  }
  operations.sort((a, b) => ORDER[a.op] - ORDER[b.op]);
  return { operations, unrestorable };
}
