import type { DeletedObject, DirectoryState, LinkSet } from './directory-state.ts';
import type { GraphClient } from './graph-client.ts';
import { ENTITY_KINDS, KINDS } from './model.ts';
import type { Entity, EntityKind } from './model.ts';

const PAGE = 999;
/** Objects whose relations are listed before their link sets are handed on: bounds what is held. */
const LINK_BATCH = 1000;

/** One part of a tenant as the backup stores it: each entity kind, the links, the recycle bin. */
export type TenantPart = EntityKind | 'links' | 'deleted';
export const TENANT_PARTS: readonly TenantPart[] = [...ENTITY_KINDS, 'links', 'deleted'];

/** A part being read: its items arrive as Graph returns them and must be consumed before the next part is asked for. */
export interface PartRead {
  readonly part: TenantPart;
  readonly items: AsyncIterable<Entity | LinkSet | DeletedObject>;
}

function withoutAnnotations<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([k]) => !k.startsWith('@odata.'))) as T;
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
 * The backup read, part by part, through Graph only: every object of every kind page by
 * page, then every members/owners collection, then the recycle bin. Only the ids of objects
 * that have relations are kept between parts, so memory does not grow with the tenant's
 * objects. Items come in the same order as the mock's own `Directory.state()`.
 */
export async function* readTenantParts(client: GraphClient, options: { concurrency?: number } = {}): AsyncGenerator<PartRead> {
  const concurrency = options.concurrency ?? 8;
  const ids = new Map<EntityKind, string[]>();
  for (const kind of ENTITY_KINDS) {
    const keep: string[] | undefined = KINDS[kind].relations.length > 0 ? [] : undefined;
    if (keep !== undefined) ids.set(kind, keep);
    async function* objects(): AsyncGenerator<Entity> {
      // Directory roles support no query options (graph-facts.md).
      for await (const page of client.pages<Entity>(KINDS[kind].path, kind === 'directoryRole' ? {} : { top: PAGE })) {
        for (const o of page) {
          keep?.push(o.id);
          yield withoutAnnotations(o);
        }
      }
    }
    yield { part: kind, items: objects() };
  }
  async function* links(): AsyncGenerator<LinkSet> {
    for (const kind of ENTITY_KINDS) {
      const of = ids.get(kind) ?? [];
      for (const relation of KINDS[kind].relations) {
        for (let at = 0; at < of.length; at += LINK_BATCH) {
          const sets = await inOrder(of.slice(at, at + LINK_BATCH), concurrency, async (id) => {
            const targets = await client.list<{ id: string }>(`${KINDS[kind].path}/${id}/${relation}`, { top: PAGE, select: ['id'] });
            return { kind, id, relation, targets: targets.map((t) => t.id) };
          });
          for (const s of sets) if (s.targets.length > 0) yield s;
        }
      }
    }
  }
  yield { part: 'links', items: links() };
  ids.clear();
  async function* deleted(): AsyncGenerator<DeletedObject> {
    for (const kind of ENTITY_KINDS.filter((k) => KINDS[k].softDelete)) {
      for await (const page of client.pages<Entity>(`directory/deletedItems/microsoft.graph.${kind}`, { top: PAGE })) {
        for (const object of page) yield { kind, object: withoutAnnotations(object) };
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
