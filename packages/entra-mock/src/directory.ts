import { ENTITY_KINDS, KINDS, RELATION_TARGETS, softDeleted } from './model.ts';
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

/** A mutation Graph refuses; the handlers turn it into Graph's error envelope. */
export class DirectoryRefusal extends Error {
  override readonly name = 'DirectoryRefusal';
  constructor(
    readonly status: number,
    readonly graphCode: string,
    message: string,
  ) {
    super(message);
  }
}

function notFound(what: string): DirectoryRefusal {
  return new DirectoryRefusal(404, 'Request_ResourceNotFound', `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`);
}

const linkKey = (kind: EntityKind, id: string, relation: Relation): string => `${kind}/${id}/${relation}`;

/** The in-memory tenant: the handlers serve it and mutate it, tests mutate it directly. */
export class Directory {
  readonly tenantId: string;
  private readonly objects = new Map<EntityKind, Map<string, Entity>>(ENTITY_KINDS.map((k) => [k, new Map()]));
  private readonly kindById = new Map<string, EntityKind>();
  private readonly links = new Map<string, Set<string>>();
  /** The inverse of `links`: for each target, the link sets holding it, so a removal or `holders` need not scan every set. */
  private readonly heldBy = new Map<string, Set<string>>();
  /** Each link set's place in `links` (a Map keeps insertion order): `holders` answers in that order. */
  private readonly linkOrder = new Map<string, number>();
  private nextLink = 0;
  private readonly deleted = new Map<string, DeletedObject>();
  /** Users with a password set at creation; Graph never returns it, so it lives outside the objects. */
  private readonly passwords = new Set<string>();
  /** Change sequence per object id, for delta queries: a change after a delta token's sequence is reported. */
  private readonly changes = new Map<string, { kind: EntityKind; seq: number; removed: boolean }>();
  private seq = 0;

  /** `adopt`: take the state's objects themselves (see createMockTenant), not copies. */
  constructor(state: DirectoryState, options: { adopt?: boolean } = {}) {
    this.tenantId = state.tenantId;
    const copy = options.adopt === true ? <T>(o: T) => o : structuredClone;
    for (const kind of ENTITY_KINDS) for (const o of state.objects[kind]) this.add(kind, copy(o));
    for (const l of state.links) {
      const key = linkKey(l.kind, l.id, l.relation);
      this.#setLinks(key, new Set(l.targets));
      for (const t of l.targets) this.#hold(t, key);
    }
    for (const d of state.deleted) this.deleted.set(d.object.id, copy(d));
  }

  kindOf(id: string): EntityKind | undefined {
    return this.kindById.get(id);
  }

  get<K extends EntityKind>(kind: K, id: string): Entity<K> | undefined {
    return this.objects.get(kind)!.get(id) as Entity<K> | undefined;
  }

  /** Live objects of a kind in insertion order (the stored objects themselves, not copies: `state()` copies); the handlers page over this. */
  list<K extends EntityKind>(kind: K): Entity<K>[] {
    return [...this.objects.get(kind)!.values()] as Entity<K>[];
  }

  count(kind: EntityKind): number {
    return this.objects.get(kind)!.size;
  }

  add<K extends EntityKind>(kind: K, object: Entity<K>): Entity<K> {
    if (this.kindById.has(object.id) || this.deleted.has(object.id)) {
      throw new DirectoryRefusal(400, 'Request_BadRequest', `Another object with the same value for property id already exists.`);
    }
    // Graph reports an unset property as null; the store keeps only set ones.
    for (const [k, v] of Object.entries(object)) if (v === null || v === undefined) delete (object as unknown as Record<string, unknown>)[k];
    this.objects.get(kind)!.set(object.id, object);
    this.kindById.set(object.id, kind);
    this.touch(kind, object.id, false);
    return object;
  }

  /** Marks an object changed for delta queries. */
  touch(kind: EntityKind, id: string, removed: boolean): void {
    this.changes.set(id, { kind, seq: ++this.seq, removed });
  }

  /** The current change sequence: what a delta link remembers. */
  get sequence(): number {
    return this.seq;
  }

  /** Objects of a kind changed (or removed) after `since`, for delta queries. */
  changedSince(kind: EntityKind, since: number): { id: string; removed: boolean }[] {
    return [...this.changes].filter(([, c]) => c.kind === kind && c.seq > since).map(([id, c]) => ({ id, removed: c.removed }));
  }

  setPassword(id: string): void {
    this.passwords.add(id);
  }

  hasPassword(id: string): boolean {
    return this.passwords.has(id);
  }

  /** Sets properties; `null` removes one, as Graph reports an unset property as null. */
  update(kind: EntityKind, id: string, changes: Readonly<Record<string, unknown>>): Entity {
    const object = this.get(kind, id);
    if (object === undefined) throw notFound(id);
    const record = object as unknown as Record<string, unknown>;
    for (const [property, value] of Object.entries(changes)) {
      if (value === null || value === undefined) delete record[property];
      else record[property] = structuredClone(value);
    }
    this.touch(kind, id, false);
    return object;
  }

  /**
   * Users, Microsoft 365 groups, applications, service principals and administrative units go to
   * the recycle bin; security groups and other kinds are gone for good (`softDeleted`).
   * Either way the object leaves every members/owners collection, and its own collections are dropped,
   * which is why a restore has to re-link them.
   */
  remove(kind: EntityKind, id: string, at: Date): void {
    const object = this.get(kind, id);
    if (object === undefined) throw notFound(id);
    this.objects.get(kind)!.delete(id);
    this.kindById.delete(id);
    for (const relation of KINDS[kind].relations) {
      const key = linkKey(kind, id, relation);
      for (const t of this.links.get(key) ?? []) this.#release(t, key);
      this.links.delete(key);
      this.linkOrder.delete(key);
    }
    for (const key of this.heldBy.get(id) ?? []) this.links.get(key)?.delete(id);
    this.heldBy.delete(id);
    this.touch(kind, id, true);
    if (!softDeleted(kind, object)) this.passwords.delete(id);
    if (softDeleted(kind, object)) {
      this.deleted.set(id, { kind, object: { ...object, deletedDateTime: at.toISOString() } as Entity });
    }
  }

  deletedItems(kind?: EntityKind): DeletedObject[] {
    return [...this.deleted.values()].filter((d) => kind === undefined || d.kind === kind);
  }

  restore(id: string): DeletedObject {
    const item = this.deleted.get(id);
    if (item === undefined) throw notFound(id);
    this.deleted.delete(id);
    const { deletedDateTime: _, ...object } = item.object as Entity & { deletedDateTime?: unknown };
    this.add(item.kind, object as Entity);
    return { kind: item.kind, object: object as Entity };
  }

  /** Permanent deletion from the recycle bin. */
  purge(id: string): void {
    if (!this.deleted.delete(id)) throw notFound(id);
    this.passwords.delete(id);
  }

  members(kind: EntityKind, id: string, relation: Relation): string[] {
    if (this.get(kind, id) === undefined) throw notFound(id);
    return [...(this.links.get(linkKey(kind, id, relation)) ?? [])];
  }

  addLink(kind: EntityKind, id: string, relation: Relation, targetId: string): void {
    if (this.get(kind, id) === undefined) throw notFound(id);
    const targetKind = this.kindById.get(targetId);
    if (targetKind === undefined) throw notFound(targetId);
    if (!(RELATION_TARGETS[`${kind}/${relation}`] ?? []).includes(targetKind)) {
      throw new DirectoryRefusal(400, 'Request_BadRequest', `A ${targetKind} cannot be added to ${relation} of a ${kind}.`);
    }
    const key = linkKey(kind, id, relation);
    // A manager is one reference: PUT replaces it (user-post-manager.md).
    const previous = this.links.get(key);
    const targets = relation === 'manager' ? new Set<string>() : (previous ?? new Set<string>());
    if (targets.has(targetId)) {
      throw new DirectoryRefusal(400, 'Request_BadRequest', `One or more added object references already exist for the following modified properties: '${relation}'.`);
    }
    if (relation === 'manager') for (const old of previous ?? []) this.#release(old, key);
    targets.add(targetId);
    this.#hold(targetId, key);
    this.#setLinks(key, targets);
    this.touch(kind, id, false);
  }

  /** Objects holding `id` in one of their relations: the inverse Graph serves as memberOf. */
  holders(id: string, relation: Relation): { kind: EntityKind; id: string }[] {
    // In the order of the link sets, as a scan of them gave it.
    const keys = [...(this.heldBy.get(id) ?? [])].filter((key) => key.endsWith(`/${relation}`)).sort((a, b) => this.linkOrder.get(a)! - this.linkOrder.get(b)!);
    return keys.map((key) => {
      const [kind, holder] = key.split('/') as [EntityKind, string];
      return { kind, id: holder };
    });
  }

  #setLinks(key: string, targets: Set<string>): void {
    if (!this.linkOrder.has(key)) this.linkOrder.set(key, this.nextLink++);
    this.links.set(key, targets);
  }

  #hold(target: string, key: string): void {
    const keys = this.heldBy.get(target);
    if (keys === undefined) this.heldBy.set(target, new Set([key]));
    else keys.add(key);
  }

  #release(target: string, key: string): void {
    const keys = this.heldBy.get(target);
    keys?.delete(key);
    if (keys?.size === 0) this.heldBy.delete(target);
  }

  removeLink(kind: EntityKind, id: string, relation: Relation, targetId: string): void {
    if (this.get(kind, id) === undefined) throw notFound(id);
    const targets = this.links.get(linkKey(kind, id, relation));
    if (targets === undefined || !targets.delete(targetId)) throw notFound(targetId);
    this.#release(targetId, linkKey(kind, id, relation));
    this.touch(kind, id, false);
  }

  /** A deep copy of the tenant as data, in a stable order. */
  state(): DirectoryState {
    const objects = Object.fromEntries(ENTITY_KINDS.map((k) => [k, this.list(k).map((o) => structuredClone(o))])) as unknown as DirectoryState['objects'];
    const links: LinkSet[] = [];
    for (const kind of ENTITY_KINDS) {
      for (const relation of KINDS[kind].relations) {
        for (const o of this.objects.get(kind)!.values()) {
          const targets = this.links.get(linkKey(kind, o.id, relation));
          if (targets !== undefined && targets.size > 0) links.push({ kind, id: o.id, relation, targets: [...targets] });
        }
      }
    }
    return { tenantId: this.tenantId, objects, links, deleted: this.deletedItems().map((d) => structuredClone(d)) };
  }
}

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
