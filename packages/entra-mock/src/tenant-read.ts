import type { DeletedObject, DirectoryState, LinkSet } from './directory.ts';
import type { GraphClient } from './graph-client.ts';
import { ENTITY_KINDS, KINDS } from './model.ts';
import type { Entity, EntityKind } from './model.ts';

const PAGE = 999;

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
 * The backup read: every object of every kind, every members/owners collection, and the
 * recycle bin, through Graph only. The result has the same shape and order as the mock's
 * own `Directory.state()`, so a backup can be compared with the tenant it came from.
 */
export async function readTenant(client: GraphClient, options: { concurrency?: number } = {}): Promise<DirectoryState> {
  const concurrency = options.concurrency ?? 8;
  const objects = {} as Record<EntityKind, Entity[]>;
  for (const kind of ENTITY_KINDS) {
    // Directory roles support no query options (graph-facts.md).
    const listed = await client.list<Entity>(KINDS[kind].path, kind === 'directoryRole' ? {} : { top: PAGE });
    objects[kind] = listed.map(withoutAnnotations);
  }
  const links: LinkSet[] = [];
  for (const kind of ENTITY_KINDS) {
    for (const relation of KINDS[kind].relations) {
      const sets = await inOrder(objects[kind], concurrency, async (o) => {
        const targets = await client.list<{ id: string }>(`${KINDS[kind].path}/${o.id}/${relation}`, { top: PAGE, select: ['id'] });
        return { kind, id: o.id, relation, targets: targets.map((t) => t.id) };
      });
      links.push(...sets.filter((s) => s.targets.length > 0));
    }
  }
  const deleted: DeletedObject[] = [];
  for (const kind of ENTITY_KINDS.filter((k) => KINDS[k].softDelete)) {
    const items = await client.list<Entity>(`directory/deletedItems/microsoft.graph.${kind}`, { top: PAGE });
    deleted.push(...items.map((object) => ({ kind, object: withoutAnnotations(object) })));
  }
  return { tenantId: client.tenantId, objects: objects as unknown as DirectoryState['objects'], links, deleted };
}
