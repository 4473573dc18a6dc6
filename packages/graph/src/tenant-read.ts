import type { DeletedObject, DirectoryState, LinkSet } from './directory-state.ts';
import type { GraphClient, Page } from './graph-client.ts';
import { ENTITY_KINDS, KINDS } from './model.ts';
import type { Entity, EntityKind, Relation } from './model.ts';

const PAGE = 999;
/** Objects whose relations are listed before their link sets are handed on: bounds what is held. */
const LINK_BATCH = 1000;
/** JSON batching's limit of requests per `$batch`. */
const RELATIONS_PER_BATCH = 20;

/** One part of a tenant as the backup stores it: each entity kind, the links, the recycle bin. */
export type TenantPart = EntityKind | 'links' | 'deleted';
export const TENANT_PARTS: readonly TenantPart[] = [...ENTITY_KINDS, 'links', 'deleted'];

/** A part being read: its items arrive as Graph returns them and must be consumed before the next part is asked for. */
export interface PartRead {
  readonly part: TenantPart;
  readonly items: AsyncIterable<Entity | LinkSet | DeletedObject>;
}

/**
 * An object as the backup keeps it: no `@odata` annotations, no expanded relation, and no
 * property Graph reported as null (null means unset, and an absent property compares equal to null).
 */
function stored<T extends object>(object: T, drop?: string): T {
  return Object.fromEntries(Object.entries(object).filter(([k, v]) => !k.startsWith('@odata.') && k !== drop && v !== null)) as T;
}

/** Graph returns at most 20 objects of an expanded collection; a full one is listed again. */
const EXPAND_LIMIT = 20;

/** A kind's list with an explicit `$select` of every property the restore writes back, its expandable relation expanded. */
function listPath(kind: EntityKind): string {
  const info = KINDS[kind];
  const query: Record<string, string> = { $select: info.select.join(',') };
  if (info.expand !== undefined) query['$expand'] = `${info.expand}($select=id)`;
  // Directory roles support no query option but $select (directoryrole-list.md).
  if (kind !== 'directoryRole') query['$top'] = String(PAGE);
  return `${info.path}?${Object.entries(query)
    .map(([k, v]) => `${k}=${v}`)
    .join('&')}`;
}

function deletedPath(kind: EntityKind): string {
  return `directory/deletedItems/microsoft.graph.${kind}?$select=${[...KINDS[kind].select, 'deletedDateTime'].join(',')}&$top=${PAGE}`;
}

/** Runs `work` over `items` with at most `limit` in flight, keeping results in input order. */
async function inOrder<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/**
 * The backup read, part by part, through Graph only: every object of every kind page by page
 * with an explicit `$select` of every property the restore writes back (`KINDS[kind].select`;
 * without it Graph returns only a default set), then every relation (members, owners, registered
 * owners, manager), then the recycle bin. Relations that Graph can expand with the list
 * (`KINDS[kind].expand`) come with it; the others are listed per object, only the ids of objects
 * that have such relations being kept between parts. Items come in the same order as the
 * mock's own `Directory.state()`.
 */
export async function* readTenantParts(client: GraphClient, options: { concurrency?: number } = {}): AsyncGenerator<PartRead> {
  // Batches in flight at once, each of up to 20 relation listings.
  const batches = Math.max(1, Math.ceil((options.concurrency ?? 8) / 4));
  const ids = new Map<EntityKind, string[]>();
  /** Link sets read through `$expand`, by kind; `undefined` targets: the expansion was full, list them. */
  const expanded = new Map<EntityKind, { id: string; targets: string[] | undefined }[]>();
  // The first page of every kind and of the recycle bin in one $batch: a small tenant is read in two or three requests.
  const recycled = ENTITY_KINDS.filter((k) => KINDS[k].recycled);
  const firstPages = new Map<string, Page<Entity>>();
  const firstPaths = [...ENTITY_KINDS.map(listPath), ...recycled.map(deletedPath)];
  for (const [i, page] of (await client.getMany<Page<Entity>>(firstPaths)).entries()) firstPages.set(firstPaths[i]!, page);
  /** A collection's pages: the first one already read, then each `@odata.nextLink`. */
  function pagesOf(path: string): AsyncGenerator<Entity[]> {
    const first = firstPages.get(path)!;
    firstPages.delete(path);
    return client.pagesFrom(first);
  }
  for (const kind of ENTITY_KINDS) {
    const info = KINDS[kind];
    const listed = info.relations.some((r) => r !== info.expand);
    const keep: string[] | undefined = listed ? [] : undefined;
    if (keep !== undefined) ids.set(kind, keep);
    const links: { id: string; targets: string[] | undefined }[] = [];
    if (info.expand !== undefined) expanded.set(kind, links);
    async function* objects(): AsyncGenerator<Entity> {
      for await (const page of pagesOf(listPath(kind))) {
        for (const o of page) {
          keep?.push(o.id);
          if (info.expand !== undefined) {
            const value = (o as unknown as Record<string, unknown>)[info.expand];
            const targets = (value === null || value === undefined ? [] : Array.isArray(value) ? value : [value]) as { id: string }[];
            links.push({ id: o.id, targets: targets.length >= EXPAND_LIMIT ? undefined : targets.map((t) => t.id) });
          }
          yield stored(o, info.expand);
        }
      }
    }
    yield { part: kind, items: objects() };
  }
  async function* links(): AsyncGenerator<LinkSet> {
    // Per-object relations go 20 to a request through $batch: a tenant with many groups is read in few requests.
    const listAll = async (kind: EntityKind, ids: readonly string[], relation: Relation): Promise<LinkSet[]> => {
      const chunks: string[][] = [];
      for (let at = 0; at < ids.length; at += RELATIONS_PER_BATCH) chunks.push(ids.slice(at, at + RELATIONS_PER_BATCH));
      const listed = await inOrder(chunks, batches, (chunk) =>
        client.listMany<{ id: string }>(chunk.map((id) => `${KINDS[kind].path}/${id}/${relation}?$top=${PAGE}&$select=id`)),
      );
      return listed.flat().map((targets, i) => ({ kind, id: ids[i]!, relation, targets: targets.map((t) => t.id) }));
    };
    for (const kind of ENTITY_KINDS) {
      for (const relation of KINDS[kind].relations) {
        if (relation === KINDS[kind].expand) {
          const sets = expanded.get(kind) ?? [];
          for (let at = 0; at < sets.length; at += LINK_BATCH) {
            const slice = sets.slice(at, at + LINK_BATCH);
            // Expansions Graph cut at 20 are listed in full.
            const full = await listAll(
              kind,
              slice.filter((s) => s.targets === undefined).map((s) => s.id),
              relation,
            );
            let f = 0;
            for (const s of slice) {
              const set = s.targets === undefined ? full[f++]! : { kind, id: s.id, relation, targets: s.targets };
              if (set.targets.length > 0) yield set;
            }
          }
          expanded.delete(kind);
          continue;
        }
        const of = ids.get(kind) ?? [];
        for (let at = 0; at < of.length; at += LINK_BATCH) {
          for (const s of await listAll(kind, of.slice(at, at + LINK_BATCH), relation)) if (s.targets.length > 0) yield s;
        }
      }
    }
  }
  yield { part: 'links', items: links() };
  ids.clear();
  async function* deleted(): AsyncGenerator<DeletedObject> {
    for (const kind of recycled) {
      for await (const page of pagesOf(deletedPath(kind))) {
        for (const object of page) yield { kind, object: stored(object) };
      }
    }
  }
  yield { part: 'deleted', items: deleted() };
}

/**
 * The whole tenant in memory, as `readTenantParts` reads it. The result has the same shape
 * and order as the mock's own `Directory.state()`, so a backup can be compared with the tenant it came from.
 */
export async function readTenant(client: GraphClient, options: { concurrency?: number } = {}): Promise<DirectoryState> {
  const objects = Object.fromEntries(ENTITY_KINDS.map((k) => [k, [] as Entity[]])) as Record<EntityKind, Entity[]>;
  const links: LinkSet[] = [];
  const deleted: DeletedObject[] = [];
  for await (const { part, items } of readTenantParts(client, options)) {
    const into: object[] = part === 'links' ? links : part === 'deleted' ? deleted : objects[part];
    for await (const item of items) into.push(item);
  }
  return { tenantId: client.tenantId, objects: objects as unknown as DirectoryState['objects'], links, deleted };
}
