/**
 * Documented request/response pairs of Microsoft Graph v1.0, replayed against the mock. Each
 * row names the page of microsoftgraph/microsoft-graph-docs-contrib (api-reference/v1.0/...) it
 * follows; each status, header, envelope key and property type asserted is one check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTenant } from '../src/generate.ts';
import { createGraphServer, createMockTenant } from '../src/graph-handlers.ts';
import { GRAPH_BASE } from '../src/model.ts';
import { signIn, tokenResponse } from './graph-fetch.ts';

const t = createMockTenant(generateTenant({ seed: 40, referenceDate: new Date('2026-06-01T00:00:00Z'), users: 120 }));
const graph = createGraphServer([t]);
beforeAll(() => graph.listen());
afterAll(() => graph.close());

const d = t.directory;
const users = d.list('user');
const member = users.find((u) => u.userType === 'Member')!;
const guest = users.find((u) => u.userType === 'Guest') ?? users[1]!;
const managed = users.find((u) => d.members('user', u.id, 'manager').length > 0)!;
const unmanaged = users[0]!;
const unified = d.list('group').find((g) => (g.groupTypes ?? []).includes('Unified'))!;
const security = d.list('group').find((g) => !(g.groupTypes ?? []).includes('Unified'))!;
const app = d.list('application')[0]!;
const sp = d.list('servicePrincipal')[0]!;
const device = d.list('device').find((x) => d.members('device', x.id, 'registeredOwners').length > 0)!;
const role = d.list('directoryRole')[0]!;
const unit = d.list('administrativeUnit')[0]!;
const policy = d.list('conditionalAccessPolicy')[0]!;
const groupMember = d.members('group', security.id, 'members')[0]!;
const ref = (id: string) => ({ '@odata.id': `${GRAPH_BASE}/directoryObjects/${id}` });
const EVENTUAL = { ConsistencyLevel: 'eventual' };
const USER_DEFAULTS = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];

type Type = 'string' | 'boolean' | 'number' | 'array' | 'object' | 'null' | 'absent';
interface Row {
  readonly doc: string;
  /** The endpoint as the docs write it, for the endpoint count. */
  readonly endpoint: string;
  readonly what: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly status: number;
  /** Graph's error code; also checks the envelope's code, message and innerError. */
  readonly error?: string;
  readonly responseHeaders?: Record<string, string | RegExp>;
  /** Top-level keys that must be present. */
  readonly keys?: readonly string[];
  /** Property types of the body, or of its first `value` item with `item`. */
  readonly props?: Readonly<Record<string, Type>>;
  readonly item?: boolean;
  /** The exact keys of the (first) item. */
  readonly exactKeys?: readonly string[];
  readonly context?: string;
  readonly count?: number;
  readonly text?: string;
}

const typeOf = (v: unknown): Type => (v === undefined ? 'absent' : v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as Type));

const U = 'api-reference/v1.0/api/';
const ROWS: Row[] = [
  // Users
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: 'default property set of 11', method: 'GET', path: 'users', status: 200, keys: ['@odata.context', 'value'], context: `${GRAPH_BASE}/$metadata#users`, item: true, exactKeys: USER_DEFAULTS, props: { businessPhones: 'array', displayName: 'string', id: 'string', userPrincipalName: 'string', accountEnabled: 'absent', department: 'absent', createdDateTime: 'absent' } },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$select changes the context and the properties', method: 'GET', path: 'users?$select=displayName,accountEnabled', status: 200, context: `${GRAPH_BASE}/$metadata#users(displayName,accountEnabled)`, item: true, exactKeys: ['displayName', 'accountEnabled'], props: { accountEnabled: 'boolean', displayName: 'string' } },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$select matches property names in any case', method: 'GET', path: 'users?$select=DisplayName,USERPRINCIPALNAME', status: 200, context: `${GRAPH_BASE}/$metadata#users(displayName,userPrincipalName)`, item: true, exactKeys: ['displayName', 'userPrincipalName'] },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: 'unknown property in $select', method: 'GET', path: 'users?$select=shoeSize', status: 400, error: 'BadRequest' },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: 'aboutMe cannot be returned in a collection: 501', method: 'GET', path: 'users?$select=aboutMe', status: 501, error: 'NotImplemented' },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$skip is not supported', method: 'GET', path: 'users?$skip=10', status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$top above 999', method: 'GET', path: 'users?$top=1000', status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: 'default page of 100 with a nextLink', method: 'GET', path: 'users?$select=id', status: 200, keys: ['@odata.context', 'value', '@odata.nextLink'], count: 100 },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$filter eq on userPrincipalName', method: 'GET', path: `users?$filter=userPrincipalName eq '${member.userPrincipalName}'&$select=id,userPrincipalName`, status: 200, count: 1, item: true, props: { id: 'string', userPrincipalName: 'string' } },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$filter startsWith', method: 'GET', path: `users?$filter=startswith(displayName,'${member.displayName!.slice(0, 3)}')&$select=displayName`, status: 200, item: true, props: { displayName: 'string' } },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$filter in', method: 'GET', path: `users?$filter=id in ('${users[2]!.id}','${users[3]!.id}')&$select=id`, status: 200, count: 2 },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$filter and/or with a boolean', method: 'GET', path: `users?$filter=accountEnabled eq true and (userType eq 'Member' or userType eq 'Guest')&$select=id&$top=999`, status: 200, item: true, props: { id: 'string' } },
  { doc: '/graph/aad-advanced-queries', endpoint: 'GET /users', what: 'ne needs ConsistencyLevel eventual', method: 'GET', path: "users?$filter=userType ne 'Guest'", status: 400, error: 'Request_UnsupportedQuery' },
  { doc: '/graph/aad-advanced-queries', endpoint: 'GET /users', what: 'ne with ConsistencyLevel and $count', method: 'GET', path: "users?$filter=userType ne 'Guest'&$count=true&$select=id", headers: EVENTUAL, status: 200, keys: ['@odata.context', '@odata.count', 'value'], props: { '@odata.count': 'number' } },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$count=true without ConsistencyLevel', method: 'GET', path: 'users?$count=true', status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$orderby with $filter needs an advanced query', method: 'GET', path: "users?$filter=startswith(displayName,'a')&$orderby=displayName", status: 400, error: 'Request_UnsupportedQuery' },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: 'example 4: $filter, $orderby, $count, $top with ConsistencyLevel', method: 'GET', path: "users?$filter=startswith(displayName,'a')&$orderby=displayName&$count=true&$top=1", headers: EVENTUAL, status: 200, keys: ['@odata.context', '@odata.count', 'value'] },
  { doc: `${U}user-list.md`, endpoint: 'GET /users/$count', what: 'example 3: a count as text/plain', method: 'GET', path: 'users/$count', headers: EVENTUAL, status: 200, responseHeaders: { 'content-type': /text\/plain/ }, text: String(users.length) },
  { doc: `${U}user-list.md`, endpoint: 'GET /users/$count', what: 'without ConsistencyLevel', method: 'GET', path: 'users/$count', status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-list.md`, endpoint: 'GET /users', what: '$search is not modelled: fails loudly', method: 'GET', path: 'users?$search="displayName:a"', headers: EVENTUAL, status: 501, error: 'NotImplemented' },
  { doc: `${U}user-get.md`, endpoint: 'GET /users/{id}', what: 'by id: default set and $entity context', method: 'GET', path: `users/${member.id}`, status: 200, context: `${GRAPH_BASE}/$metadata#users/$entity`, props: { id: 'string', displayName: 'string', businessPhones: 'array', accountEnabled: 'absent' } },
  { doc: `${U}user-get.md`, endpoint: 'GET /users/{id}', what: 'by userPrincipalName', method: 'GET', path: `users/${encodeURIComponent(member.userPrincipalName!)}?$select=id`, status: 200, context: `${GRAPH_BASE}/$metadata#users(id)/$entity`, props: { id: 'string' } },
  { doc: `${U}user-get.md`, endpoint: 'GET /users/{id}', what: "a guest's #EXT# name, URL-encoded", method: 'GET', path: `users/${encodeURIComponent(guest.userPrincipalName!)}?$select=id,userPrincipalName`, status: 200, props: { id: 'string', userPrincipalName: 'string' } },
  { doc: `${U}user-get.md`, endpoint: 'GET /users/{id}', what: 'path segments are case-insensitive', method: 'GET', path: `Users/${member.id.toUpperCase()}?$select=id`, status: 200, props: { id: 'string' } },
  { doc: `${U}user-get.md`, endpoint: 'GET /users/{id}', what: 'aboutMe can be selected on one user', method: 'GET', path: `users/${member.id}?$select=aboutMe`, status: 200, props: { aboutMe: 'null' } },
  { doc: `${U}user-get.md`, endpoint: 'GET /users/{id}', what: 'passwordProfile is never returned', method: 'GET', path: `users/${member.id}?$select=passwordProfile`, status: 200, props: { passwordProfile: 'null' } },
  { doc: `${U}user-get.md`, endpoint: 'GET /users/{id}', what: 'unknown user', method: 'GET', path: 'users/00000000-0000-4000-8000-000000000000', status: 404, error: 'Request_ResourceNotFound' },
  { doc: `${U}user-list-manager.md`, endpoint: 'GET /users/{id}/manager', what: 'the manager with its @odata.type', method: 'GET', path: `users/${managed.id}/manager`, status: 200, props: { '@odata.type': 'string', '@odata.context': 'string', id: 'string', displayName: 'string' } },
  { doc: `${U}user-list-manager.md`, endpoint: 'GET /users/{id}/manager', what: 'no manager: 404', method: 'GET', path: `users/${unmanaged.id}/manager`, status: 404, error: 'Request_ResourceNotFound' },
  { doc: `${U}user-list-manager.md`, endpoint: 'GET /users', what: '$expand=manager on the list', method: 'GET', path: `users?$filter=id eq '${managed.id}'&$select=id&$expand=manager($select=id)`, status: 200, item: true, props: { id: 'string', manager: 'object' } },
  { doc: '/graph/query-parameters', endpoint: 'GET /users', what: 'two $expand on directory objects are refused', method: 'GET', path: 'users?$expand=manager,memberOf', status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-list-memberof.md`, endpoint: 'GET /users/{id}/memberOf', what: 'groups, roles and units with @odata.type', method: 'GET', path: `users/${groupMember}/memberOf`, status: 200, keys: ['@odata.context', 'value'], item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}user-list-transitivememberof.md`, endpoint: 'GET /users/{id}/transitiveMemberOf', what: 'transitive groups', method: 'GET', path: `users/${groupMember}/transitiveMemberOf`, status: 200, item: true, props: { '@odata.type': 'string' } },
  { doc: `${U}user-list-directreports.md`, endpoint: 'GET /users/{id}/directReports', what: 'direct reports', method: 'GET', path: `users/${d.members('user', managed.id, 'manager')[0]}/directReports`, status: 200, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}user-delta.md`, endpoint: 'GET /users/delta', what: 'first round ends with a deltaLink', method: 'GET', path: 'users/delta?$select=id,displayName', status: 200, keys: ['@odata.context', 'value', '@odata.nextLink'], item: true, props: { id: 'string', displayName: 'string' } },
  { doc: `${U}user-post-users.md`, endpoint: 'POST /users', what: 'passwordProfile is required', method: 'POST', path: 'users', body: { accountEnabled: true, displayName: 'No Password', mailNickname: 'nopw', userPrincipalName: 'nopw@example.com' }, status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-post-users.md`, endpoint: 'POST /users', what: 'created: 201 with the object, no password', method: 'POST', path: 'users', body: { accountEnabled: true, displayName: 'Adele Vance', mailNickname: 'AdeleV', userPrincipalName: 'AdeleV@example.com', passwordProfile: { forceChangePasswordNextSignIn: true, password: 'xWwvJ]6NMw+bWH-d' } }, status: 201, props: { id: 'string', displayName: 'string', passwordProfile: 'absent', '@odata.context': 'string' } },
  { doc: `${U}user-post-users.md`, endpoint: 'POST /users', what: 'unknown property', method: 'POST', path: 'users', body: { displayName: 'x', favouriteColour: 'blue' }, status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-update.md`, endpoint: 'PATCH /users/{id}', what: 'update: 204', method: 'PATCH', path: `users/${member.id}`, body: { jobTitle: 'Auditor', OfficeLocation: '18/2111' }, status: 204 },
  { doc: `${U}user-update.md`, endpoint: 'PATCH /users/{id}', what: 'null for the required displayName', method: 'PATCH', path: `users/${member.id}`, body: { displayName: null }, status: 400, error: 'Request_BadRequest' },
  { doc: 'api-reference/v1.0/resources/user.md', endpoint: 'PATCH /users/{id}', what: 'businessPhones holds one number only', method: 'PATCH', path: `users/${member.id}`, body: { businessPhones: ['+1 425 555 0100', '+1 425 555 0101'] }, status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-update.md`, endpoint: 'PATCH /users/{id}', what: 'read-only id', method: 'PATCH', path: `users/${member.id}`, body: { id: 'x' }, status: 400, error: 'Request_BadRequest' },
  { doc: `${U}user-update.md`, endpoint: 'PATCH /users/{id}', what: 'a body that is not JSON', method: 'PATCH', path: `users/${member.id}`, body: '{not json', status: 400, error: 'BadRequest' },
  { doc: `${U}user-post-manager.md`, endpoint: 'PUT /users/{id}/manager/$ref', what: 'set a manager: 204', method: 'PUT', path: `users/${unmanaged.id}/manager/$ref`, body: ref(member.id), status: 204 },
  { doc: `${U}user-post-manager.md`, endpoint: 'PUT /users/{id}/manager/$ref', what: 'a manager that does not exist', method: 'PUT', path: `users/${unmanaged.id}/manager/$ref`, body: ref('00000000-0000-4000-8000-000000000000'), status: 404, error: 'Request_ResourceNotFound' },
  // Groups
  { doc: `${U}group-list.md`, endpoint: 'GET /groups', what: 'list', method: 'GET', path: 'groups', status: 200, context: `${GRAPH_BASE}/$metadata#groups`, item: true, props: { id: 'string', displayName: 'string', groupTypes: 'array', securityEnabled: 'boolean', mailEnabled: 'boolean' } },
  { doc: `${U}group-list.md`, endpoint: 'GET /groups', what: 'groupTypes/any() filter', method: 'GET', path: "groups?$filter=groupTypes/any(c:c eq 'Unified')&$select=id,groupTypes", status: 200, item: true, props: { groupTypes: 'array' } },
  { doc: `${U}group-list.md`, endpoint: 'GET /groups', what: '$expand=members', method: 'GET', path: `groups?$filter=id eq '${security.id}'&$expand=members`, status: 200, item: true, props: { members: 'array', id: 'string' } },
  { doc: `${U}group-list.md`, endpoint: 'GET /groups', what: '$skip is not supported', method: 'GET', path: 'groups?$skip=1', status: 400, error: 'Request_BadRequest' },
  { doc: `${U}group-list-members.md`, endpoint: 'GET /groups/{id}/members', what: 'members with @odata.type', method: 'GET', path: `groups/${security.id}/members`, status: 200, context: `${GRAPH_BASE}/$metadata#directoryObjects`, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}group-list-members.md`, endpoint: 'GET /groups/{id}/members/microsoft.graph.user', what: 'an OData cast narrows to users', method: 'GET', path: `groups/${security.id}/members/microsoft.graph.user?$select=id,displayName`, status: 200, item: true, props: { '@odata.type': 'string', displayName: 'string' } },
  { doc: `${U}group-list-transitivemembers.md`, endpoint: 'GET /groups/{id}/transitiveMembers', what: 'transitive members', method: 'GET', path: `groups/${security.id}/transitiveMembers`, status: 200, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}group-list-owners.md`, endpoint: 'GET /groups/{id}/owners', what: 'owners', method: 'GET', path: `groups/${security.id}/owners`, status: 200, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}group-delta.md`, endpoint: 'GET /groups/delta', what: 'first round in one page: a deltaLink', method: 'GET', path: 'groups/delta?$select=id,displayName', status: 200, keys: ['@odata.context', 'value', '@odata.deltaLink'] },
  { doc: `${U}group-post-members.md`, endpoint: 'POST /groups/{id}/members/$ref', what: 'an existing member again: 400', method: 'POST', path: `groups/${security.id}/members/$ref`, body: ref(groupMember), status: 400, error: 'Request_BadRequest' },
  { doc: `${U}group-post-members.md`, endpoint: 'POST /groups/{id}/members/$ref', what: 'an object that does not exist: 404', method: 'POST', path: `groups/${security.id}/members/$ref`, body: ref('00000000-0000-4000-8000-000000000000'), status: 404, error: 'Request_ResourceNotFound' },
  { doc: `${U}group-delete-members.md`, endpoint: 'DELETE /groups/{id}/members/{id}/$ref', what: 'without $ref it is no removal', method: 'DELETE', path: `groups/${security.id}/members/${groupMember}`, status: 405, error: 'Request_BadRequest' },
  { doc: `${U}group-post-groups.md`, endpoint: 'POST /groups', what: 'mailNickname is required', method: 'POST', path: 'groups', body: { displayName: 'x', mailEnabled: false, securityEnabled: true }, status: 400, error: 'Request_BadRequest' },
  { doc: `${U}group-post-groups.md`, endpoint: 'POST /groups', what: 'members@odata.bind is not modelled: fails loudly', method: 'POST', path: 'groups', body: { displayName: 'x', mailEnabled: false, mailNickname: 'x', securityEnabled: true, 'members@odata.bind': [] }, status: 501, error: 'NotImplemented' },
  { doc: `${U}group-update.md`, endpoint: 'PATCH /groups/{id}', what: 'null displayName', method: 'PATCH', path: `groups/${unified.id}`, body: { displayName: null }, status: 400, error: 'Request_BadRequest' },
  // Applications, service principals, devices
  { doc: `${U}application-list.md`, endpoint: 'GET /applications', what: 'list', method: 'GET', path: 'applications', status: 200, context: `${GRAPH_BASE}/$metadata#applications`, item: true, props: { id: 'string', appId: 'string', displayName: 'string', identifierUris: 'array' } },
  { doc: `${U}application-list-owners.md`, endpoint: 'GET /applications/{id}/owners', what: 'owners', method: 'GET', path: `applications/${app.id}/owners`, status: 200, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}application-list-owners.md`, endpoint: 'GET /applications', what: '$expand=owners', method: 'GET', path: `applications?$select=id&$expand=owners($select=id)`, status: 200, item: true, props: { owners: 'array' } },
  { doc: `${U}application-update.md`, endpoint: 'PATCH /applications/{id}', what: 'appId is read-only', method: 'PATCH', path: `applications/${app.id}`, body: { appId: '00000000-0000-4000-8000-000000000000' }, status: 400, error: 'Request_BadRequest' },
  { doc: `${U}serviceprincipal-list.md`, endpoint: 'GET /servicePrincipals', what: 'list', method: 'GET', path: 'servicePrincipals', status: 200, context: `${GRAPH_BASE}/$metadata#servicePrincipals`, item: true, props: { id: 'string', appId: 'string', servicePrincipalType: 'string', tags: 'array' } },
  { doc: `${U}serviceprincipal-list-owners.md`, endpoint: 'GET /servicePrincipals/{id}/owners', what: 'owners (none)', method: 'GET', path: `servicePrincipals/${sp.id}/owners`, status: 200, keys: ['@odata.context', 'value'], count: 0 },
  { doc: `${U}serviceprincipal-update.md`, endpoint: 'PATCH /servicePrincipals/{id}', what: 'appId cannot change', method: 'PATCH', path: `servicePrincipals/${sp.id}`, body: { appId: '00000000-0000-4000-8000-000000000000' }, status: 400, error: 'Request_BadRequest' },
  { doc: `${U}device-list.md`, endpoint: 'GET /devices', what: 'list', method: 'GET', path: 'devices', status: 200, context: `${GRAPH_BASE}/$metadata#devices`, item: true, props: { id: 'string', deviceId: 'string', operatingSystem: 'string', accountEnabled: 'boolean' } },
  { doc: `${U}device-list-registeredowners.md`, endpoint: 'GET /devices/{id}/registeredOwners', what: 'registered owners', method: 'GET', path: `devices/${device.id}/registeredOwners`, status: 200, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}device-post-devices.md`, endpoint: 'POST /devices', what: 'deviceId is required', method: 'POST', path: 'devices', body: { accountEnabled: true, displayName: 'x', operatingSystem: 'Windows', operatingSystemVersion: '10' }, status: 400, error: 'Request_BadRequest' },
  // Roles, units, policies
  { doc: `${U}directoryrole-list.md`, endpoint: 'GET /directoryRoles', what: 'all roles in one answer', method: 'GET', path: 'directoryRoles', status: 200, keys: ['@odata.context', 'value'], count: d.count('directoryRole'), item: true, props: { roleTemplateId: 'string', displayName: 'string' } },
  { doc: `${U}directoryrole-list.md`, endpoint: 'GET /directoryRoles', what: 'no $top on roles', method: 'GET', path: 'directoryRoles?$top=2', status: 400, error: 'Request_UnsupportedQuery' },
  { doc: `${U}directoryrole-list-members.md`, endpoint: 'GET /directoryRoles/{id}/members', what: 'members', method: 'GET', path: `directoryRoles/${role.id}/members`, status: 200, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}directoryrole-delete.md`, endpoint: 'DELETE /directoryRoles/{id}', what: 'roles cannot be deleted', method: 'DELETE', path: `directoryRoles/${role.id}`, status: 405, error: 'Request_BadRequest' },
  { doc: `${U}directory-list-administrativeunits.md`, endpoint: 'GET /directory/administrativeUnits', what: 'list', method: 'GET', path: 'directory/administrativeUnits', status: 200, context: `${GRAPH_BASE}/$metadata#administrativeUnits`, item: true, props: { id: 'string', displayName: 'string' } },
  { doc: `${U}administrativeunit-list-members.md`, endpoint: 'GET /directory/administrativeUnits/{id}/members', what: 'members', method: 'GET', path: `directory/administrativeUnits/${unit.id}/members`, status: 200, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}conditionalaccessroot-list-policies.md`, endpoint: 'GET /identity/conditionalAccess/policies', what: 'list', method: 'GET', path: 'identity/conditionalAccess/policies', status: 200, context: `${GRAPH_BASE}/$metadata#policies`, item: true, props: { id: 'string', state: 'string', conditions: 'object', grantControls: 'object' } },
  { doc: `${U}conditionalaccesspolicy-update.md`, endpoint: 'PATCH /identity/conditionalAccess/policies/{id}', what: 'modifiedDateTime is read-only', method: 'PATCH', path: `identity/conditionalAccess/policies/${policy.id}`, body: { modifiedDateTime: '2020-01-01T00:00:00Z' }, status: 400, error: 'Request_BadRequest' },
  // Directory objects, deleted items
  { doc: `${U}directoryobject-get.md`, endpoint: 'GET /directoryObjects/{id}', what: 'any object with its @odata.type', method: 'GET', path: `directoryObjects/${app.id}`, status: 200, context: `${GRAPH_BASE}/$metadata#directoryObjects/$entity`, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}directoryobject-getbyids.md`, endpoint: 'POST /directoryObjects/getByIds', what: 'objects by id, narrowed by type', method: 'POST', path: 'directoryObjects/getByIds', body: { ids: [member.id, security.id, app.id], types: ['user', 'group'] }, status: 200, keys: ['@odata.context', 'value'], count: 2, item: true, props: { '@odata.type': 'string', id: 'string' } },
  { doc: `${U}directoryobject-getbyids.md`, endpoint: 'POST /directoryObjects/getByIds', what: 'ids missing', method: 'POST', path: 'directoryObjects/getByIds', body: {}, status: 400, error: 'Request_BadRequest' },
  { doc: `${U}directory-deleteditems-list.md`, endpoint: 'GET /directory/deletedItems/microsoft.graph.user', what: 'the cast is required', method: 'GET', path: 'directory/deletedItems', status: 400, error: 'Request_BadRequest' },
  { doc: `${U}directory-deleteditems-list.md`, endpoint: 'GET /directory/deletedItems/microsoft.graph.user', what: 'an empty recycle bin', method: 'GET', path: 'directory/deletedItems/microsoft.graph.group', status: 200, keys: ['@odata.context', 'value'], count: 0 },
  { doc: `${U}directory-deleteditems-get.md`, endpoint: 'GET /directory/deletedItems/{id}', what: 'not deleted: 404', method: 'GET', path: `directory/deletedItems/${member.id}`, status: 404, error: 'Request_ResourceNotFound' },
  // Tenant
  { doc: `${U}organization-list.md`, endpoint: 'GET /organization', what: 'the tenant', method: 'GET', path: 'organization', status: 200, keys: ['@odata.context', 'value'], count: 1, item: true, props: { id: 'string', displayName: 'string', verifiedDomains: 'array', tenantType: 'string' } },
  { doc: `${U}domain-list.md`, endpoint: 'GET /domains', what: 'the initial domain', method: 'GET', path: 'domains', status: 200, count: 1, item: true, props: { id: 'string', isDefault: 'boolean', isInitial: 'boolean', isVerified: 'boolean', authenticationType: 'string', supportedServices: 'array' } },
  { doc: `${U}domain-get.md`, endpoint: 'GET /domains/{id}', what: 'unknown domain', method: 'GET', path: 'domains/contoso.example', status: 404, error: 'Request_ResourceNotFound' },
  { doc: '/graph/errors', endpoint: 'GET /{unknown}', what: 'a segment Graph does not have', method: 'GET', path: 'printers', status: 400, error: 'BadRequest' },
  { doc: '/graph/errors', endpoint: 'GET /users/{id}/{unknown}', what: 'a navigation property not modelled', method: 'GET', path: `users/${member.id}/calendar`, status: 400, error: 'BadRequest' },
  { doc: '/graph/errors', endpoint: 'GET /users', what: 'the client-request-id is echoed on errors', method: 'GET', path: 'users?$top=0', headers: { 'client-request-id': '6a3c1c2e-0b0e-4f53-9b8d-7f3b2d1e4c5a' }, status: 400, error: 'Request_BadRequest', responseHeaders: { 'client-request-id': '6a3c1c2e-0b0e-4f53-9b8d-7f3b2d1e4c5a', 'request-id': /^[0-9a-f-]{36}$/ } },
];

/** Runs every row's checks, returning the failures (empty when the mock answers as documented) and the number of checks. */
async function replay(rows: readonly Row[]): Promise<{ failures: string[]; checks: number }> {
  const call = await signIn(t);
  const failures: string[] = [];
  let checks = 0;
  const check = (row: Row, ok: boolean, what: string) => {
    checks++;
    if (!ok) failures.push(`${row.method} ${row.path} (${row.what}; ${row.doc}): ${what}`);
  };
  for (const row of rows) {
    const response = await call(row.method, row.path, { ...(row.body === undefined ? {} : { body: row.body }), ...(row.headers === undefined ? {} : { headers: row.headers }) });
    const text = await response.text();
    check(row, response.status === row.status, `status ${response.status}, expected ${row.status}: ${text.slice(0, 200)}`);
    for (const [name, want] of Object.entries(row.responseHeaders ?? {})) {
      const have = response.headers.get(name) ?? '';
      check(row, typeof want === 'string' ? have === want : want.test(have), `header ${name} is '${have}'`);
    }
    if (row.text !== undefined) check(row, text === row.text, `body '${text}', expected '${row.text}'`);
    if (row.status === 204) check(row, text === '', 'a 204 has no body');
    const body = text === '' || row.text !== undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
    if (row.error !== undefined) {
      const e = (body?.['error'] ?? {}) as Record<string, unknown>;
      check(row, e['code'] === row.error, `error code ${String(e['code'])}, expected ${row.error}`);
      check(row, typeof e['message'] === 'string' && e['message'] !== '', 'error message');
      const inner = (e['innerError'] ?? {}) as Record<string, unknown>;
      check(row, typeof inner['date'] === 'string' && typeof inner['request-id'] === 'string' && typeof inner['client-request-id'] === 'string', 'innerError with date, request-id, client-request-id');
    }
    for (const k of row.keys ?? []) check(row, body !== undefined && k in body, `envelope key ${k} missing`);
    if (row.context !== undefined) check(row, body?.['@odata.context'] === row.context, `@odata.context ${String(body?.['@odata.context'])}`);
    const values = body?.['value'] as Record<string, unknown>[] | undefined;
    if (row.count !== undefined) check(row, values?.length === row.count, `${values?.length} values, expected ${row.count}`);
    const subject = row.item === true ? values?.[0] : body;
    if (row.exactKeys !== undefined) check(row, subject !== undefined && JSON.stringify(Object.keys(subject).sort()) === JSON.stringify([...row.exactKeys].sort()), `keys ${JSON.stringify(Object.keys(subject ?? {}))}`);
    for (const [p, type] of Object.entries(row.props ?? {})) check(row, subject !== undefined && typeOf(subject[p]) === type, `${p} is ${typeOf(subject?.[p])}, expected ${type}`);
  }
  return { failures, checks };
}

describe('fidelity: documented Graph v1.0 request/response pairs replayed against the mock', () => {
  it('answers every row as the documentation says: at least 150 checks over at least 20 endpoints', async () => {
    const { failures, checks } = await replay(ROWS);
    const endpoints = new Set(ROWS.map((r) => r.endpoint)).size;
    console.info(`fidelity: ${ROWS.length} rows, ${checks} checks, ${endpoints} endpoints`);
    expect(failures).toEqual([]);
    expect(checks).toBeGreaterThanOrEqual(150);
    expect(endpoints).toBeGreaterThanOrEqual(20);
  });

  it('deletes per type as directory-deleteditems-list.md and group-delete.md say', async () => {
    const call = await signIn(t);
    const app2 = d.list('application')[1]!;
    const sp2 = d.list('servicePrincipal')[1]!;
    for (const [path, recycled] of [[`groups/${unified.id}`, true], [`groups/${security.id}`, false], [`applications/${app2.id}`, true], [`servicePrincipals/${sp2.id}`, true], [`directory/administrativeUnits/${unit.id}`, true], [`devices/${device.id}`, false]] as const) {
      expect((await call('DELETE', path)).status, path).toBe(204);
      const id = path.split('/').pop()!;
      const binned = await call('GET', `directory/deletedItems/${id}`);
      expect(binned.status, `${path} in deletedItems`).toBe(recycled ? 200 : 404);
    }
    const groups = await call.json<{ value: { id: string }[] }>('GET', 'directory/deletedItems/microsoft.graph.group?$select=id,deletedDateTime');
    expect(groups.value.map((g) => g.id)).toEqual([unified.id]);
    expect((await call('POST', `directory/deletedItems/${sp2.id}/restore`)).status).toBe(200);
    expect((await call('POST', `directory/deletedItems/${security.id}/restore`)).status).toBe(404);
  });

  it('delta: a second round from the deltaLink lists only what changed, removals as @removed', async () => {
    const call = await signIn(t);
    let next: string | undefined = 'users/delta?$select=id,jobTitle';
    let deltaLink: string | undefined;
    while (next !== undefined) {
      const page: { '@odata.nextLink'?: string; '@odata.deltaLink'?: string } = await call.json('GET', next);
      next = page['@odata.nextLink'];
      deltaLink = page['@odata.deltaLink'];
    }
    const [a, b] = d.list('user').slice(-2);
    await call('PATCH', `users/${a!.id}`, { body: { jobTitle: 'Paralegal' } });
    await call('DELETE', `users/${b!.id}`);
    const round = await call.json<{ value: Record<string, unknown>[]; '@odata.deltaLink': string }>('GET', deltaLink!);
    expect(round.value).toEqual([
      { id: a!.id, jobTitle: 'Paralegal' },
      { id: b!.id, '@removed': { reason: 'changed' } },
    ]);
    expect(round['@odata.deltaLink']).toContain('$deltatoken=');
  });

  it('$batch answers up to 20 requests each as if sent alone, and refuses 21', async () => {
    const call = await signIn(t);
    const answer = await call.json<{ responses: { id: string; status: number; body?: Record<string, unknown> }[] }>('POST', '$batch', {
      body: { requests: [{ id: '1', method: 'GET', url: `/users/${member.id}?$select=id` }, { id: '2', method: 'GET', url: '/users/00000000-0000-4000-8000-000000000000' }] },
    });
    expect(answer.responses.map((r) => [r.id, r.status])).toEqual([['1', 200], ['2', 404]]);
    expect(answer.responses[0]!.body).toMatchObject({ id: member.id });
    expect((answer.responses[1]!.body as { error: { code: string } }).error.code).toBe('Request_ResourceNotFound');
    const many = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users' }));
    expect((await call('POST', '$batch', { body: { requests: many } })).status).toBe(400);
  });

  it('token errors carry the identity platform envelope (error_codes, timestamp, trace_id, correlation_id); 429 carries Retry-After', async () => {
    const wrong = await tokenResponse(t, 'not-the-secret');
    expect(wrong.status).toBe(401);
    const body = (await wrong.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['correlation_id', 'error', 'error_codes', 'error_description', 'error_uri', 'timestamp', 'trace_id']);
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [7000215], error_description: expect.stringMatching(/^AADSTS7000215: .*Trace ID: .*Correlation ID: .*Timestamp: /) });
    const form = new URLSearchParams({ client_id: 'someone-else', client_secret: t.clientSecret, grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' });
    const unknownApp = await fetch(`https://login.microsoftonline.com/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
    expect(await unknownApp.json()).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
    const call = await signIn(t);
    t.faults.throttleNext(1, 3);
    const throttled = await call('GET', 'users');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect(((await throttled.json()) as { error: { code: string } }).error.code).toBe('TooManyRequests');
  });
});
