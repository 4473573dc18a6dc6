import { failure, type Failure } from '@ekm/domain';
import { ENTITY_KINDS, type DirectoryState, type EntityKind } from '@ekm/graph';
import type { Part } from './snapshots.ts';

export interface EntityRef {
  readonly kind: EntityKind;
  readonly id: string;
}

/** The snapshot parts a read needs: all of them, or the kinds chosen plus the links. */
export function partsFor(entities: readonly EntityRef[] | undefined): ReadonlySet<Part> | undefined {
  if (entities === undefined) return undefined;
  return new Set<Part>(['links', ...entities.map((e) => e.kind)]);
}

function missingEntity(snapshot: DirectoryState, entities: readonly EntityRef[]): Failure | undefined {
  for (const e of entities) {
    if (!snapshot.objects[e.kind].some((o) => o.id === e.id)) return failure('SnapshotNotFound', `The snapshot has no ${e.kind} ${e.id}.`, e.id);
  }
  return undefined;
}

/** Only the chosen entities of a snapshot, with the links that name them. */
export function only(snapshot: DirectoryState, entities: readonly EntityRef[]): DirectoryState | Failure {
  const missing = missingEntity(snapshot, entities);
  if (missing !== undefined) return missing;
  const ids = new Set(entities.map((e) => e.id));
  const objects = Object.fromEntries(ENTITY_KINDS.map((k) => [k, snapshot.objects[k].filter((o) => ids.has(o.id))]));
  const links = snapshot.links.map((l) => (ids.has(l.id) ? l : { ...l, targets: l.targets.filter((t) => ids.has(t)) })).filter((l) => l.targets.length > 0);
  return { tenantId: snapshot.tenantId, objects: objects as unknown as DirectoryState['objects'], links, deleted: [] };
}

/**
 * The tenant as it is now with the chosen entities put back as the snapshot has them: their
 * properties, their own members/owners, and their membership in objects that still exist.
 */
export function withEntities(current: DirectoryState, snapshot: DirectoryState, entities: readonly EntityRef[]): DirectoryState | Failure {
  const missing = missingEntity(snapshot, entities);
  if (missing !== undefined) return missing;
  const ids = new Set(entities.map((e) => e.id));
  const objects = Object.fromEntries(
    ENTITY_KINDS.map((k) => {
      const chosen = snapshot.objects[k].filter((o) => ids.has(o.id));
      const rest = current.objects[k].filter((o) => !ids.has(o.id));
      return [k, [...rest, ...chosen]];
    }),
  );
  const key = (l: { kind: string; id: string; relation: string }) => `${l.kind}/${l.id}/${l.relation}`;
  const snapLinks = new Map(snapshot.links.map((l) => [key(l), l]));
  const links = new Map(current.links.filter((l) => !ids.has(l.id)).map((l) => [key(l), { ...l, targets: [...l.targets] }]));
  for (const l of snapshot.links) if (ids.has(l.id)) links.set(key(l), { ...l, targets: [...l.targets] });
  // Memberships of a chosen entity in other objects: as in the snapshot.
  for (const [k, l] of links) {
    if (ids.has(l.id)) continue;
    const wanted = new Set(snapLinks.get(k)?.targets ?? []);
    l.targets = [...l.targets.filter((t) => !ids.has(t)), ...[...ids].filter((id) => wanted.has(id))];
  }
  for (const [k, l] of snapLinks) {
    if (links.has(k) || ids.has(l.id)) continue;
    const chosen = l.targets.filter((t) => ids.has(t));
    const exists = current.objects[l.kind].some((o) => o.id === l.id);
    if (chosen.length > 0 && exists) links.set(k, { ...l, targets: chosen });
  }
  return {
    tenantId: current.tenantId,
    objects: objects as unknown as DirectoryState['objects'],
    links: [...links.values()].filter((l) => l.targets.length > 0),
    deleted: current.deleted,
  };
}
