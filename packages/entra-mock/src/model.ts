import type {
  AdministrativeUnit,
  Application,
  ConditionalAccessPolicy,
  Device,
  DirectoryRole,
  Group,
  ServicePrincipal,
  User,
} from '@microsoft/microsoft-graph-types';

/** The kinds of directory object a backup covers, named as Graph's `@odata.type` names them. */
export const ENTITY_KINDS = [
  'user',
  'group',
  'application',
  'servicePrincipal',
  'device',
  'directoryRole',
  'administrativeUnit',
  'conditionalAccessPolicy',
] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export interface EntityTypes {
  user: User;
  group: Group;
  application: Application;
  servicePrincipal: ServicePrincipal;
  device: Device;
  directoryRole: DirectoryRole;
  administrativeUnit: AdministrativeUnit;
  conditionalAccessPolicy: ConditionalAccessPolicy;
}

/** A stored object: the Graph type with a required id. Stored without `@odata` annotations; responses add them. */
export type Entity<K extends EntityKind = EntityKind> = EntityTypes[K] & { id: string };

/** Per kind: where Graph lists it, and what Graph lets clients do with it. */
export interface KindInfo {
  /** Collection path under /v1.0. */
  readonly path: string;
  /** Graph lets clients create (POST) and delete (DELETE) this kind. Directory roles are activated from templates, never deleted. */
  readonly writable: boolean;
  /** Properties Graph sets itself; a PATCH or POST naming one is refused. */
  readonly readOnly: readonly string[];
  /** Navigation properties holding directory objects, in the order `Directory.state()` lists them. */
  readonly relations: readonly Relation[];
}

/** `manager` is single-valued (`PUT .../manager/$ref`); the others are `$ref` collections. */
export type Relation = 'members' | 'owners' | 'registeredOwners' | 'manager';

const COMMON_READ_ONLY = ['id', 'createdDateTime', 'deletedDateTime'];

export const KINDS: { readonly [K in EntityKind]: KindInfo } = {
  user: { path: 'users', writable: true, readOnly: COMMON_READ_ONLY, relations: ['manager'] },
  group: { path: 'groups', writable: true, readOnly: [...COMMON_READ_ONLY, 'mail'], relations: ['members', 'owners'] },
  application: { path: 'applications', writable: true, readOnly: [...COMMON_READ_ONLY, 'appId'], relations: ['owners'] },
  servicePrincipal: { path: 'servicePrincipals', writable: true, readOnly: [...COMMON_READ_ONLY], relations: ['owners'] },
  device: { path: 'devices', writable: true, readOnly: [...COMMON_READ_ONLY], relations: ['registeredOwners'] },
  directoryRole: { path: 'directoryRoles', writable: false, readOnly: [...COMMON_READ_ONLY, 'roleTemplateId'], relations: ['members'] },
  administrativeUnit: { path: 'directory/administrativeUnits', writable: true, readOnly: COMMON_READ_ONLY, relations: ['members'] },
  conditionalAccessPolicy: {
    path: 'identity/conditionalAccess/policies',
    writable: true,
    readOnly: [...COMMON_READ_ONLY, 'modifiedDateTime'],
    relations: [],
  },
};

export function kindOfPath(path: string): EntityKind | undefined {
  return ENTITY_KINDS.find((k) => KINDS[k].path.toLowerCase() === path.toLowerCase());
}

/** Which relations hold which kinds of target (the Graph docs of each `$ref` endpoint). */
export const RELATION_TARGETS: Readonly<Record<string, readonly EntityKind[]>> = {
  'user/manager': ['user'],
  'group/members': ['user', 'group', 'device', 'servicePrincipal'],
  'group/owners': ['user', 'servicePrincipal'],
  'application/owners': ['user', 'servicePrincipal'],
  'servicePrincipal/owners': ['user', 'servicePrincipal'],
  'device/registeredOwners': ['user'],
  'directoryRole/members': ['user', 'group', 'servicePrincipal'],
  'administrativeUnit/members': ['user', 'group', 'device'],
};

/**
 * Deletion as Microsoft documents it (directory-deleteditems-list.md, group-delete.md): users,
 * Microsoft 365 groups, applications, service principals and administrative units go to
 * deletedItems; security and distribution groups, devices and policies are gone for good.
 */
export function softDeleted(kind: EntityKind, object: object): boolean {
  if (kind === 'group') return ((object as { groupTypes?: string[] }).groupTypes ?? []).includes('Unified');
  return kind === 'user' || kind === 'application' || kind === 'servicePrincipal' || kind === 'administrativeUnit';
}

export const GRAPH_BASE = 'https://graph.microsoft.com/v1.0';
export const LOGIN_BASE = 'https://login.microsoftonline.com';

/** `@odata.type` of a kind, e.g. `#microsoft.graph.user`. */
export function odataType(kind: EntityKind): string {
  return `#microsoft.graph.${kind}`;
}

export function kindOfOdataType(type: unknown): EntityKind | undefined {
  if (typeof type !== 'string') return undefined;
  const name = type.replace(/^#?microsoft\.graph\./i, '').toLowerCase();
  return ENTITY_KINDS.find((k) => k.toLowerCase() === name);
}
