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

/** Per kind: where Graph lists it, and what deletion means there. */
export interface KindInfo {
  /** Collection path under /v1.0. */
  readonly path: string;
  /** Deleted objects of this kind go to /directory/deletedItems and can be restored with the same id. */
  readonly softDelete: boolean;
  /** Graph lets clients create (POST) and delete (DELETE) this kind. Directory roles are activated from templates, never deleted. */
  readonly writable: boolean;
  /** Properties Graph sets itself; a PATCH or POST naming one is refused. */
  readonly readOnly: readonly string[];
  /** Relations the backup keeps, each a `$ref` collection of directory object ids. */
  readonly relations: readonly Relation[];
}

export type Relation = 'members' | 'owners';

const COMMON_READ_ONLY = ['id', 'createdDateTime', 'deletedDateTime'];

export const KINDS: { readonly [K in EntityKind]: KindInfo } = {
  user: { path: 'users', softDelete: true, writable: true, readOnly: COMMON_READ_ONLY, relations: [] },
  group: { path: 'groups', softDelete: true, writable: true, readOnly: [...COMMON_READ_ONLY, 'mail'], relations: ['members', 'owners'] },
  application: { path: 'applications', softDelete: true, writable: true, readOnly: [...COMMON_READ_ONLY, 'appId'], relations: [] },
  servicePrincipal: { path: 'servicePrincipals', softDelete: false, writable: true, readOnly: [...COMMON_READ_ONLY, 'appId'], relations: [] },
  device: { path: 'devices', softDelete: false, writable: true, readOnly: [...COMMON_READ_ONLY, 'deviceId'], relations: [] },
  directoryRole: { path: 'directoryRoles', softDelete: false, writable: false, readOnly: [...COMMON_READ_ONLY, 'roleTemplateId'], relations: ['members'] },
  administrativeUnit: { path: 'directory/administrativeUnits', softDelete: false, writable: true, readOnly: COMMON_READ_ONLY, relations: ['members'] },
  conditionalAccessPolicy: {
    path: 'identity/conditionalAccess/policies',
    softDelete: false,
    writable: true,
    readOnly: [...COMMON_READ_ONLY, 'modifiedDateTime'],
    relations: [],
  },
};

export function kindOfPath(path: string): EntityKind | undefined {
  return ENTITY_KINDS.find((k) => KINDS[k].path === path);
}

/** Which relations hold which kinds of target. Group members may be users, groups, devices or service principals. */
export const RELATION_TARGETS: Readonly<Record<string, readonly EntityKind[]>> = {
  'group/members': ['user', 'group', 'device', 'servicePrincipal'],
  'group/owners': ['user', 'servicePrincipal'],
  'directoryRole/members': ['user', 'group', 'servicePrincipal'],
  'administrativeUnit/members': ['user', 'group', 'device'],
};

export const GRAPH_BASE = 'https://graph.microsoft.com/v1.0';
export const LOGIN_BASE = 'https://login.microsoftonline.com';

/** `@odata.type` of a kind, e.g. `#microsoft.graph.user`. */
export function odataType(kind: EntityKind): string {
  return `#microsoft.graph.${kind}`;
}

export function kindOfOdataType(type: unknown): EntityKind | undefined {
  if (typeof type !== 'string') return undefined;
  const name = type.replace(/^#?microsoft\.graph\./, '');
  return ENTITY_KINDS.find((k) => k === name);
}
