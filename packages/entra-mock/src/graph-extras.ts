import { HttpResponse } from 'msw';
import { DirectoryRefusal } from './directory.ts';
import type { Directory } from './directory.ts';
import { bad, readQuery } from './graph-query.ts';
import { context, nextLink, project } from './graph-respond.ts';
import type { ServedTenant } from './graph-serve.ts';
import { kindOfOdataType } from './model.ts';
import type { EntityKind } from './model.ts';

const notAllowed = (): DirectoryRefusal => new DirectoryRefusal(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request uri.');

/** The tenant's initial domain: the one its users' names end in. */
export function initialDomain(tenant: ServedTenant): string {
  const upn = tenant.directory.list('user').find((u) => !(u.userPrincipalName ?? '').includes('#EXT#'))?.userPrincipalName;
  return upn?.split('@')[1] ?? `${tenant.tenantId.slice(0, 8)}.onmicrosoft.com`;
}

function domain(tenant: ServedTenant): Record<string, unknown> {
  // domain.md: the properties of the initial *.onmicrosoft.com domain.
  return {
    authenticationType: 'Managed',
    availabilityStatus: null,
    id: initialDomain(tenant),
    isAdminManaged: true,
    isDefault: true,
    isInitial: true,
    isRoot: true,
    isVerified: true,
    supportedServices: ['Email', 'OfficeCommunicationsOnline'],
    passwordValidityPeriodInDays: 2147483647,
    passwordNotificationWindowInDays: 14,
  };
}

/** organization-get.md: GET /organization lists the one tenant. */
export function serveOrganization(tenant: ServedTenant, method: string, parts: readonly string[]): Response {
  if (method !== 'GET') throw notAllowed();
  const org = {
    id: tenant.tenantId,
    displayName: initialDomain(tenant).split('.')[0],
    tenantType: 'AAD',
    countryLetterCode: 'US',
    createdDateTime: '2020-01-01T00:00:00Z',
    verifiedDomains: [{ capabilities: 'Email, OfficeCommunicationsOnline', isDefault: true, isInitial: true, name: initialDomain(tenant), type: 'Managed' }],
    businessPhones: [],
    technicalNotificationMails: [],
  };
  if (parts.length === 1) return HttpResponse.json({ '@odata.context': context('organization', undefined), value: [org] });
  if (parts.length === 2 && parts[1]!.toLowerCase() === tenant.tenantId) return HttpResponse.json({ '@odata.context': context('organization', undefined, true), ...org });
  throw new DirectoryRefusal(404, 'Request_ResourceNotFound', `Resource '${parts[1]}' does not exist or one of its queried reference-property objects are not present.`);
}

/** domain-list.md and domain-get.md. */
export function serveDomains(tenant: ServedTenant, method: string, parts: readonly string[]): Response {
  if (method !== 'GET') throw notAllowed();
  const d = domain(tenant);
  if (parts.length === 1) return HttpResponse.json({ '@odata.context': context('domains', undefined), value: [d] });
  if (parts.length === 2 && parts[1]!.toLowerCase() === String(d['id']).toLowerCase()) return HttpResponse.json({ '@odata.context': context('domains', undefined, true), ...d });
  throw new DirectoryRefusal(404, 'Request_ResourceNotFound', `Domain '${parts[1]}' was not found.`);
}

/** directoryobject-getbyids.md: up to 1,000 ids, optionally narrowed to some types; unknown ids are left out. */
export function serveGetByIds(dir: Directory, body: Record<string, unknown>): Response {
  const ids = body['ids'];
  if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string')) throw bad("Invalid value specified for property 'ids' of resource 'DirectoryObject'.");
  if (ids.length > 1000) throw bad('Too many ids: getByIds takes at most 1000.');
  const types = body['types'];
  let kinds: EntityKind[] | undefined;
  if (types !== undefined) {
    if (!Array.isArray(types)) throw bad("Invalid value specified for property 'types' of resource 'DirectoryObject'.");
    kinds = types.map((t) => {
      const k = kindOfOdataType(String(t));
      if (k === undefined) throw bad(`Invalid type '${String(t)}' in types.`);
      return k;
    });
  }
  const value = (ids as string[])
    .map((id) => id.toLowerCase())
    .map((id) => ({ id, kind: dir.kindOf(id) }))
    .filter((x): x is { id: string; kind: EntityKind } => x.kind !== undefined && (kinds === undefined || kinds.includes(x.kind)))
    .map((x) => project(dir.get(x.kind, x.id)!, x.kind, undefined, true));
  return HttpResponse.json({ '@odata.context': context('directoryObjects', undefined), value });
}

interface DeltaState {
  /** Offset into this round's items. */
  readonly o: number;
  /** Changes after this sequence are reported; -1: a full round. */
  readonly s: number;
  /** The sequence the round ends at: the next delta token. */
  readonly n: number;
}

const encode = (d: DeltaState): string => Buffer.from(JSON.stringify(d)).toString('base64url');
function decode(token: string): DeltaState {
  try {
    const d = JSON.parse(Buffer.from(token, 'base64url').toString()) as DeltaState;
    if ([d.o, d.s, d.n].every(Number.isInteger)) return d;
  } catch {
    // falls through to the refusal
  }
  throw bad('The delta token is invalid or has expired. Start a new round without a token.', 'Request_BadRequest');
}

/**
 * user-delta.md / group-delta.md: the first round lists every object page by page and ends
 * with `@odata.deltaLink`; a round from that link lists what changed since, removed objects as
 * `{"id", "@removed": {"reason": "changed" | "deleted"}}` (changed: in deletedItems, deleted: gone for good).
 */
export function serveDelta(dir: Directory, kind: 'user' | 'group', url: URL): Response {
  const q = readQuery(url, kind, false, true);
  if (q.filter !== undefined || q.orderby !== undefined || q.top !== undefined) throw bad('Delta queries take only $select (and $skiptoken, $deltatoken) here; the mock does not model $filter on delta.', 'Request_UnsupportedQuery');
  const skip = url.searchParams.get('$skiptoken');
  const delta = url.searchParams.get('$deltatoken');
  const state: DeltaState = skip !== null ? decode(skip) : delta !== null ? { ...decode(delta), o: 0 } : { o: 0, s: -1, n: dir.sequence };
  const since = skip !== null ? state.s : delta !== null ? state.n : -1;
  const end = skip !== null ? state.n : dir.sequence;
  const binned = new Set(dir.deletedItems(kind).map((d) => d.object.id));
  const items: Record<string, unknown>[] =
    since === -1
      ? dir.list(kind).map((o) => project(o, kind, q.select))
      : dir.changedSince(kind, since).map((c) => {
          const live = dir.get(kind, c.id);
          if (live !== undefined) return project(live, kind, q.select);
          return { id: c.id, '@removed': { reason: binned.has(c.id) ? 'changed' : 'deleted' } };
        });
  const pageSize = 100;
  const value = items.slice(state.o, state.o + pageSize);
  const body: Record<string, unknown> = { '@odata.context': context(`${kind}s`, q.select), value };
  const drop = ['$skiptoken', '$deltatoken'];
  if (state.o + pageSize < items.length) body['@odata.nextLink'] = nextLink(url, { $skiptoken: encode({ o: state.o + pageSize, s: since, n: end }) }, drop);
  else body['@odata.deltaLink'] = nextLink(url, { $deltatoken: encode({ o: 0, s: since, n: end }) }, drop);
  return HttpResponse.json(body);
}
