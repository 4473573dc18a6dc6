/**
 * Choosing entities for a restore or download: the selection itself is @ekm/graph's (the
 * provider's view of Graph); what is the provider's own is which snapshot parts a read needs.
 */
import type { EntityRef } from '@ekm/graph';
import type { Part } from './snapshots.ts';

export { onlyEntities as only, withEntities, type EntityRef } from '@ekm/graph';

/** The snapshot parts a read needs: all of them, or the kinds chosen plus the links. */
export function partsFor(entities: readonly EntityRef[] | undefined): ReadonlySet<Part> | undefined {
  if (entities === undefined) return undefined;
  return new Set<Part>(['links', ...entities.map((e) => e.kind)]);
}
