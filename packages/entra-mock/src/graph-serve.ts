import { randomUUID } from 'node:crypto';
import { HttpResponse } from 'msw';
import { DirectoryRefusal } from './directory.ts';
import type { Directory } from './directory.ts';
import { serveDelta, serveDomains, serveGetByIds, serveOrganization } from './graph-extras.ts';
import { bad, notImplemented, ordered, readQuery } from './graph-query.ts';
import type { Query } from './graph-query.ts';
import { context, graphError, noContent, page, project } from './graph-respond.ts';
import { SCHEMAS, canonical } from './graph-schema.ts';
import { ENTITY_KINDS, KINDS, RELATION_TARGETS, kindOfOdataType } from './model.ts';
import type { Entity, EntityKind, Relation } from './model.ts';

/** What serving one request needs from its tenant (MockTenant, without the registry's concerns). */
export interface ServedTenant {
  readonly tenantId: string;
  readonly directory: Directory;
  readonly clock: () => Date;
}

/** Kinds whose Graph type has createdDateTime (devices and service principals do not). */
const CREATION_STAMPED: readonly EntityKind[] = ['user', 'group', 'application', 'conditionalAccessPolicy'];
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Navigation properties each kind serves (the Relationships tables of resources/*.md), beyond the stored relations. */
const DERIVED: Readonly<Record<EntityKind, readonly string[]>> = {
  user: ['memberOf', 'transitiveMemberOf', 'directReports'],
  group: ['memberOf', 'transitiveMembers', 'transitiveMemberOf'],
  application: [],
  servicePrincipal: ['memberOf', 'transitiveMemberOf'],
  device: ['memberOf', 'transitiveMemberOf'],
  directoryRole: [],
  administrativeUnit: [],
  conditionalAccessPolicy: [],
};

export const notFound = (what: string): DirectoryRefusal =>
  new DirectoryRefusal(404, 'Request_ResourceNotFound', `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`);
const notAllowed = (): DirectoryRefusal => new DirectoryRefusal(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request uri.');
const segmentNotFound = (segment: string): DirectoryRefusal => new DirectoryRefusal(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  const parsed: unknown = text === '' ? {} : JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad('The request body must be a JSON object.', 'BadRequest');
  return parsed as Record<string, unknown>;
}

/** Segments of the path under /v1.0, URL-decoded (a guest's `#EXT#` arrives as `%23EXT%23`). */
export function segments(url: URL): string[] {
  return url.pathname.replace(/^\/v1\.0\/?/i, '').replace(/\/$/, '').split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
}

/** The collection a path starts with, matched case-insensitively as Graph matches segments. */
function collection(parts: readonly string[]): { kind: EntityKind; rest: string[] } | undefined {
  for (const kind of ENTITY_KINDS) {
    const base = KINDS[kind].path.toLowerCase().split('/');
    if (base.every((b, i) => parts[i]?.toLowerCase() === b)) return { kind, rest: parts.slice(base.length) };
  }
  return undefined;
}

/** An object by id, or a user by userPrincipalName too (user-get.md: `/users/{id | userPrincipalName}`). */
function lookup(dir: Directory, kind: EntityKind, key: string): Entity {
  const id = key.toLowerCase();
  const byId = GUID.test(key) ? (dir.get(kind, id) ?? dir.get(kind, key)) : undefined;
  if (byId !== undefined) return byId;
  if (kind === 'user' && !GUID.test(key)) {
    const upn = dir.list('user').find((u) => u.userPrincipalName?.toLowerCase() === id);
    if (upn !== undefined) return upn;
  }
  throw notFound(key);
}

/** A write body with property names in their documented spelling, checked against the type's schema. */
function writable(kind: EntityKind, body: Record<string, unknown>, creating: boolean): Record<string, unknown> {
  const schema = SCHEMAS[kind];
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (name === '@odata.type') continue;
    if (name.includes('@odata.bind')) throw notImplemented(`'${name}' is not modelled by the mock tenant; add references with $ref after creating the object.`);
    const p = canonical(kind, name);
    if (p === undefined) throw bad(`Property '${name}' does not exist as a declared property or extension property.`);
    if (KINDS[kind].readOnly.includes(p) || (!creating && schema.immutable.includes(p))) throw bad(`Property '${p}' is read-only and cannot be set.`);
    const invalid = () => bad(`Invalid value specified for property '${p}' of resource '${schema.resource}'.`);
    // user-update.md: a required property cannot be cleared.
    if (value === null && schema.required.includes(p) && p !== 'passwordProfile') throw invalid();
    if (schema.single.includes(p) && Array.isArray(value) && value.length > 1) throw invalid();
    out[p] = value;
  }
  if (creating) for (const p of schema.required) if (out[p] === undefined || out[p] === null) throw bad(`Invalid value specified for property '${p}' of resource '${schema.resource}'.`);
  return out;
}

function refTarget(body: Record<string, unknown>): string {
  const ref = body['@odata.id'];
  if (typeof ref !== 'string') throw bad('The @odata.id of the reference is missing.', 'BadRequest');
  return ref.split('/').pop()!.toLowerCase();
}

/** Directory objects as a list, each with its `@odata.type`, narrowed by an OData cast segment. */
function typedObjects(dir: Directory, ids: readonly string[], cast: EntityKind | undefined): { kind: EntityKind; object: Entity }[] {
  return ids
    .map((id) => ({ kind: dir.kindOf(id)!, id }))
    .filter((x) => x.kind !== undefined && (cast === undefined || x.kind === cast))
    .map((x) => ({ kind: x.kind, object: dir.get(x.kind, x.id)! }));
}

function listObjects(url: URL, dir: Directory, q: Query, ctx: string, items: readonly { kind: EntityKind; object: Entity }[]): Response {
  const selected = items.filter((x) => q.filter === undefined || q.filter(x.object as unknown as Record<string, unknown>));
  const sorted = ordered(selected, q.orderby === undefined ? undefined : { property: q.orderby.property, desc: q.orderby.desc, of: (x: { object: Entity }) => x.object });
  return page(url, ctx, sorted, { top: q.top, count: q.count, render: (x) => withExpand(dir, x.kind, x.object, q) });
}

/** `$expand` of one relation (at most 20 related objects, as Graph returns for directory objects). */
function withExpand(dir: Directory, kind: EntityKind, object: Entity, q: Query): Record<string, unknown> {
  const out = project(object, kind, q.select, true);
  if (q.expand === undefined) return out;
  const relation = q.expand.relation;
  const stored = (KINDS[kind].relations as readonly string[]).find((r) => r.toLowerCase() === relation.toLowerCase()) as Relation | undefined;
  if (stored === undefined) throw bad(`Parsing OData Select and Expand failed: Could not find a property named '${relation}' on type 'microsoft.graph.${kind}'.`, 'BadRequest');
  const related = typedObjects(dir, dir.members(kind, object.id, stored), undefined).map((x) => {
    const select = q.expand!.select?.map((p) => canonical(x.kind, p) ?? p);
    return project(x.object, x.kind, select, true);
  });
  out[stored] = stored === 'manager' ? (related[0] ?? null) : related.slice(0, 20);
  return out;
}

function transitive(dir: Directory, start: string, step: (id: string) => readonly string[]): string[] {
  const seen = new Set<string>();
  const queue = [...step(start)];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id) || id === start) continue;
    seen.add(id);
    if (dir.kindOf(id) === 'group') queue.push(...step(id));
  }
  return [...seen];
}

/** Graph v1.0 for one tenant: the request as Graph would answer it, or a DirectoryRefusal with Graph's error. */
export async function serveGraph(tenant: ServedTenant, request: Request, url: URL): Promise<Response> {
  const dir = tenant.directory;
  const method = request.method.toUpperCase();
  const parts = segments(url);
  const advanced = request.headers.get('consistencylevel')?.toLowerCase() === 'eventual';
  const head = parts[0]?.toLowerCase();

  if (head === 'organization') return serveOrganization(tenant, method, parts);
  if (head === 'domains') return serveDomains(tenant, method, parts);
  if (head === 'directory' && parts[1]?.toLowerCase() === 'deleteditems') return serveDeleted(tenant, request, url, parts.slice(2), advanced);
  if (head === 'directoryobjects') {
    if (parts[1]?.toLowerCase() === 'getbyids' && parts.length === 2) {
      if (method !== 'POST') throw notAllowed();
      return serveGetByIds(dir, await jsonBody(request));
    }
    if (parts.length === 2 && method === 'GET') {
      const id = parts[1]!.toLowerCase();
      const kind = dir.kindOf(id);
      if (kind === undefined) throw notFound(parts[1]!);
      return HttpResponse.json({ '@odata.context': context('directoryObjects', undefined, true), ...project(dir.get(kind, id)!, kind, readQuery(url, kind, advanced, false).select, true) });
    }
    throw segmentNotFound(parts.slice(1).join('/'));
  }

  const route = collection(parts);
  if (route === undefined) throw segmentNotFound(parts[0] ?? '');
  const { kind, rest } = route;
  const info = KINDS[kind];
  const [key, relationSegment, third, fourth, ...more] = rest;
  if (more.length > 0) throw segmentNotFound(more[0]!);

  if (key === undefined) {
    if (method === 'GET') {
      // directoryrole-list.md: directory roles support no query options but $select.
      if (kind === 'directoryRole' && [...url.searchParams.keys()].some((k) => k.toLowerCase() !== '$select')) throw bad('The directoryRoles collection supports no query option but $select.', 'Request_UnsupportedQuery');
      const q = readQuery(url, kind, advanced, true);
      const items = dir.list(kind).map((object) => ({ kind, object }));
      const selected = items.filter((x) => q.filter === undefined || q.filter(x.object as unknown as Record<string, unknown>));
      const sorted = ordered(selected, q.orderby === undefined ? undefined : { ...q.orderby, of: (x: { object: Entity }) => x.object });
      const render = (x: { object: Entity }) => {
        const o = withExpand(dir, kind, x.object, q);
        delete o['@odata.type'];
        return o;
      };
      return page(url, context(info.path.split('/').pop()!, q.select), sorted, { top: q.top, count: q.count, paged: kind !== 'directoryRole', render });
    }
    if (method === 'POST' && info.writable) {
      const body = writable(kind, await jsonBody(request), true);
      const { passwordProfile, ...stored } = body;
      const now = tenant.clock().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const extra: Record<string, unknown> = kind === 'conditionalAccessPolicy' ? { modifiedDateTime: now } : {};
      if (kind === 'application') extra['appId'] = randomUUID();
      if (CREATION_STAMPED.includes(kind)) extra['createdDateTime'] = now;
      if (kind === 'servicePrincipal' && !dir.list('application').some((a) => a.appId === stored['appId']) && dir.list('servicePrincipal').some((s) => s.appId === stored['appId'])) {
        throw bad('The service principal name is already present for the tenant.');
      }
      const object = dir.add(kind, { id: randomUUID(), ...stored, ...extra } as Entity);
      if (passwordProfile !== undefined) dir.setPassword(object.id);
      return HttpResponse.json({ '@odata.context': context(info.path.split('/').pop()!, undefined, true), ...project(object, kind, undefined) }, { status: 201 });
    }
    throw notAllowed();
  }

  if (key.toLowerCase() === 'delta' && (kind === 'user' || kind === 'group') && relationSegment === undefined) {
    if (method !== 'GET') throw notAllowed();
    return serveDelta(dir, kind, url);
  }
  if (key.toLowerCase() === '$count' && relationSegment === undefined) {
    // user-list.md example 3: /users/$count needs ConsistencyLevel: eventual and answers text/plain.
    if (!advanced) throw bad('$count is not currently supported.');
    return new HttpResponse(String(dir.count(kind)), { headers: { 'content-type': 'text/plain' } });
  }

  const object = lookup(dir, kind, key);
  const id = object.id;
  if (relationSegment === undefined) {
    if (method === 'GET') {
      const q = readQuery(url, kind, advanced, false);
      const o = withExpand(dir, kind, object, q);
      delete o['@odata.type'];
      return HttpResponse.json({ '@odata.context': context(info.path.split('/').pop()!, q.select, true), ...o });
    }
    if (method === 'PATCH') {
      const body = writable(kind, await jsonBody(request), false);
      const { passwordProfile, ...changes } = body;
      if (passwordProfile !== undefined) dir.setPassword(id);
      dir.update(kind, id, changes);
      if (kind === 'conditionalAccessPolicy') dir.update(kind, id, { modifiedDateTime: tenant.clock().toISOString().replace(/\.\d{3}Z$/, 'Z') });
      return noContent();
    }
    if (method === 'DELETE' && info.writable) {
      dir.remove(kind, id, tenant.clock());
      return noContent();
    }
    throw notAllowed();
  }
  return serveRelation(tenant, request, url, kind, id, relationSegment, third, fourth, advanced);
}

async function serveRelation(tenant: ServedTenant, request: Request, url: URL, kind: EntityKind, id: string, segment: string, third: string | undefined, fourth: string | undefined, advanced: boolean): Promise<Response> {
  const dir = tenant.directory;
  const method = request.method.toUpperCase();
  const stored = (KINDS[kind].relations as readonly string[]).find((r) => r.toLowerCase() === segment.toLowerCase()) as Relation | undefined;
  const derived = DERIVED[kind].find((r) => r.toLowerCase() === segment.toLowerCase());
  if (stored === undefined && derived === undefined) throw segmentNotFound(segment);
  const cast = third !== undefined && third.toLowerCase().startsWith('microsoft.graph.') ? kindOfOdataType(third) : undefined;
  if (third !== undefined && third.toLowerCase().startsWith('microsoft.graph.') && cast === undefined) throw segmentNotFound(third);
  const listing = method === 'GET' && (third === undefined || cast !== undefined) && fourth === undefined;

  if (derived !== undefined) {
    if (!listing) throw notAllowed();
    const up = (x: string) => dir.holders(x, 'members').map((h) => h.id);
    const ids =
      derived === 'memberOf' ? up(id)
      : derived === 'transitiveMemberOf' ? transitive(dir, id, up)
      : derived === 'transitiveMembers' ? transitive(dir, id, (x) => dir.members('group', x, 'members'))
      : dir.holders(id, 'manager').map((h) => h.id);
    const q = readQuery(url, cast, advanced, true);
    return listObjects(url, dir, q, context('directoryObjects', q.select), typedObjects(dir, ids, cast));
  }

  const relation = stored!;
  if (relation === 'manager') {
    // user-list-manager.md, user-post-manager.md, user-delete-manager.md.
    const manager = dir.members(kind, id, 'manager')[0];
    if (method === 'GET' && third === undefined) {
      if (manager === undefined) throw notFound('manager');
      const mk = dir.kindOf(manager)!;
      return HttpResponse.json({ '@odata.context': context('directoryObjects', undefined, true), ...project(dir.get(mk, manager)!, mk, readQuery(url, mk, advanced, false).select, true) });
    }
    if (third === '$ref' && fourth === undefined && method === 'PUT') {
      dir.addLink(kind, id, 'manager', refTarget(await jsonBody(request)));
      return noContent();
    }
    if (third === '$ref' && fourth === undefined && method === 'DELETE') {
      if (manager === undefined) throw notFound('manager');
      dir.removeLink(kind, id, 'manager', manager);
      return noContent();
    }
    throw notAllowed();
  }

  if (listing) {
    const q = readQuery(url, cast, advanced, true);
    return listObjects(url, dir, q, context('directoryObjects', q.select), typedObjects(dir, dir.members(kind, id, relation), cast));
  }
  if (third === '$ref' && fourth === undefined && method === 'POST') {
    const target = refTarget(await jsonBody(request));
    if (dir.kindOf(target) === undefined) throw notFound(target);
    if (!(RELATION_TARGETS[`${kind}/${relation}`] ?? []).includes(dir.kindOf(target)!)) throw bad(`A ${dir.kindOf(target)} cannot be added to ${relation} of a ${kind}.`);
    dir.addLink(kind, id, relation, target);
    return noContent();
  }
  if (third === '$ref' && fourth === undefined && method === 'GET') {
    const refs = dir.members(kind, id, relation).map((t) => ({ '@odata.id': `https://graph.microsoft.com/v2/${tenant.tenantId}/directoryObjects/${t}/Microsoft.DirectoryServices.${dir.kindOf(t)![0]!.toUpperCase()}${dir.kindOf(t)!.slice(1)}` }));
    return page(url, context('directoryObjects', undefined).replace('#directoryObjects', '#Collection($ref)'), refs, {});
  }
  if (third !== undefined && fourth === '$ref' && method === 'DELETE') {
    dir.removeLink(kind, id, relation, third.toLowerCase());
    return noContent();
  }
  // group-delete-members.md: removing a member is DELETE .../members/{id}/$ref; without $ref nothing is removed.
  throw notAllowed();
}

async function serveDeleted(tenant: ServedTenant, request: Request, url: URL, rest: readonly string[], advanced: boolean): Promise<Response> {
  const dir = tenant.directory;
  const method = request.method.toUpperCase();
  const [first, second, ...more] = rest;
  if (more.length > 0) throw segmentNotFound(more[0]!);
  if (first === undefined) {
    // directory-deleteditems-list.md: the OData cast is a required part of the URI.
    throw bad('The OData cast is a required part of the URI: GET /directory/deletedItems/microsoft.graph.{type}.');
  }
  const castKind = first.toLowerCase().startsWith('microsoft.graph.') ? kindOfOdataType(first) : undefined;
  if (castKind !== undefined && second === undefined && method === 'GET') {
    const q = readQuery(url, castKind, advanced, true);
    const items = dir.deletedItems(castKind).map((d) => ({ kind: castKind, object: d.object }));
    const selected = items.filter((x) => q.filter === undefined || q.filter(x.object as unknown as Record<string, unknown>));
    const sorted = ordered(selected, q.orderby === undefined ? undefined : { ...q.orderby, of: (x: { object: Entity }) => x.object });
    return page(url, context(KINDS[castKind].path.split('/').pop()!, q.select), sorted, { top: q.top, count: q.count, render: (x) => project(x.object, castKind, q.select, true) });
  }
  if (first.toLowerCase().startsWith('microsoft.graph.')) throw segmentNotFound(first);
  const id = first.toLowerCase();
  const item = dir.deletedItems().find((d) => d.object.id === id);
  if (second === undefined && method === 'GET') {
    if (item === undefined) throw notFound(first);
    return HttpResponse.json({ '@odata.context': context('directoryObjects', undefined, true), ...project(item.object, item.kind, readQuery(url, item.kind, advanced, false).select, true) });
  }
  if (second?.toLowerCase() === 'restore' && method === 'POST') {
    const restored = dir.restore(id);
    return HttpResponse.json({ '@odata.context': context('directoryObjects', undefined, true), ...project(restored.object, restored.kind, undefined, true) });
  }
  if (second === undefined && method === 'DELETE') {
    dir.purge(id);
    return noContent();
  }
  throw notAllowed();
}
