import { ENTITY_KINDS, KINDS } from './model.ts';
import type { Entity, EntityKind, Relation } from './model.ts';

/** The members or owners of one object: the `$ref` collection Graph exposes at `/{kind}/{id}/{relation}`. */
export interface LinkSet {
  readonly kind: EntityKind;
  readonly id: string;
  readonly relation: Relation;
  readonly targets: readonly string[];
}

export interface DeletedObject {
  readonly kind: EntityKind;
  readonly object: Entity;
}

/**
 * A whole tenant as plain data: what the generator produces, what a backup reads and what
 * a restore aims at. Arrays keep a stable order so the same tenant serialises byte for byte.
 */
export interface DirectoryState {
  readonly tenantId: string;
  readonly objects: { readonly [K in EntityKind]: readonly Entity<K>[] };
  readonly links: readonly LinkSet[];
  /** The recycle bin (`/directory/deletedItems`); not part of the live tenant, so comparisons ignore it. */
  readonly deleted: readonly DeletedObject[];
}

const linkKey = (kind: EntityKind, id: string, relation: Relation): string => `${kind}/${id}/${relation}`;

/** One difference between an expected and an actual tenant, entity by entity. */
export type DirectoryDifference =
  | { readonly kind: EntityKind; readonly id: string; readonly change: 'missing' | 'unexpected' }
  | { readonly kind: EntityKind; readonly id: string; readonly change: 'changed'; readonly property: string; readonly expected: unknown; readonly actual: unknown }
  | { readonly kind: EntityKind; readonly id: string; readonly change: 'linkMissing' | 'linkUnexpected'; readonly property: Relation; readonly targetId: string };

/** JSON with object keys sorted, so equal values compare equal whatever order their properties were set in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const isUnset = (v: unknown): boolean => v === null || v === undefined;

/** Properties that differ between two versions of one object; an absent property equals null. */
export function changedProperties(expected: object, actual: object): string[] {
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])].filter((k) => !k.startsWith('@odata.')).sort();
  return keys.filter((k) => (isUnset(e[k]) ? !isUnset(a[k]) : isUnset(a[k]) || canonicalJson(e[k]) !== canonicalJson(a[k])));
}

/**
 * Everything that differs between `expected` and `actual` in the live tenant: objects, their
 * properties and their members/owners. The recycle bin is not compared.
 */
export function compareDirectories(expected: DirectoryState, actual: DirectoryState): DirectoryDifference[] {
  const differences: DirectoryDifference[] = [];
  for (const kind of ENTITY_KINDS) {
    const want = new Map<string, Entity>(expected.objects[kind].map((o) => [o.id, o]));
    const have = new Map<string, Entity>(actual.objects[kind].map((o) => [o.id, o]));
    for (const [id, e] of want) {
      const a = have.get(id);
      if (a === undefined) {
        differences.push({ kind, id, change: 'missing' });
        continue;
      }
      const er = e as unknown as Record<string, unknown>;
      const ar = a as unknown as Record<string, unknown>;
      for (const property of changedProperties(e, a)) {
        differences.push({ kind, id, change: 'changed', property, expected: er[property] ?? null, actual: ar[property] ?? null });
      }
    }
    for (const id of have.keys()) if (!want.has(id)) differences.push({ kind, id, change: 'unexpected' });
  }
  const linkMap = (s: DirectoryState) => new Map(s.links.map((l) => [linkKey(l.kind, l.id, l.relation), l]));
  const want = linkMap(expected);
  const have = linkMap(actual);
  for (const key of new Set([...want.keys(), ...have.keys()])) {
    const w = want.get(key);
    const h = have.get(key);
    const { kind, id, relation } = (w ?? h)!;
    const wt = new Set(w?.targets ?? []);
    const ht = new Set(h?.targets ?? []);
    for (const t of wt) if (!ht.has(t)) differences.push({ kind, id, change: 'linkMissing', property: relation, targetId: t });
    for (const t of ht) if (!wt.has(t)) differences.push({ kind, id, change: 'linkUnexpected', property: relation, targetId: t });
  }
  return differences;
}

/**
 * The differences a restore claims to undo: everything `compareDirectories` finds except
 * read-only properties (ids, creation and modification stamps), which Graph sets itself.
 */
export function restorableDifferences(expected: DirectoryState, actual: DirectoryState): DirectoryDifference[] {
  return compareDirectories(expected, actual).filter((d) => d.change !== 'changed' || !(KINDS[d.kind].readOnly.includes(d.property) || KINDS[d.kind].immutable.includes(d.property)));
}
