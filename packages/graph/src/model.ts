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

/** Per kind: where Graph lists it, what the backup reads of it and what a restore may write. */
export interface KindInfo {
  /** Collection path under /v1.0. */
  readonly path: string;
  /** Deleted objects of this kind may be in /directory/deletedItems (directory-deleteditems-list.md); a security group never is. */
  readonly recycled: boolean;
  /** Graph lets clients create (POST) and delete (DELETE) this kind. Directory roles are activated from templates, never deleted. */
  readonly writable: boolean;
  /** Properties Graph sets itself; never written. */
  readonly readOnly: readonly string[];
  /** Sent when creating the object, never changed afterwards (a service principal's appId, a device's deviceId). */
  readonly immutable: readonly string[];
  /**
   * Every property the backup reads, as an explicit `$select`: Graph returns only a default set
   * without one (user-list.md: 11 properties for users), so a property not named here is not backed up.
   */
  readonly select: readonly string[];
  /** Relations the backup keeps, in the order the tenant read lists them. */
  readonly relations: readonly Relation[];
  /** A relation read with the list itself (`$expand=owners($select=id)`), saving a request per object. */
  readonly expand?: Relation;
}

/** `manager` is single-valued (`PUT .../manager/$ref`); the others are `$ref` collections. */
export type Relation = 'members' | 'owners' | 'registeredOwners' | 'manager';

const COMMON_READ_ONLY = ['id', 'createdDateTime', 'deletedDateTime'];

export const KINDS: { readonly [K in EntityKind]: KindInfo } = {
  user: {
    path: 'users',
    recycled: true,
    writable: true,
    readOnly: COMMON_READ_ONLY,
    immutable: [],
    select: [
      'id', 'displayName', 'givenName', 'surname', 'userPrincipalName', 'mail', 'mailNickname', 'userType', 'accountEnabled', 'jobTitle', 'department',
      'officeLocation', 'businessPhones', 'mobilePhone', 'usageLocation', 'preferredLanguage', 'employeeId', 'employeeType', 'companyName', 'city',
      'country', 'state', 'streetAddress', 'postalCode', 'otherMails', 'createdDateTime',
    ],
    relations: ['manager'],
    expand: 'manager',
  },
  group: {
    path: 'groups',
    recycled: true,
    writable: true,
    readOnly: [...COMMON_READ_ONLY, 'mail'],
    immutable: ['isAssignableToRole'],
    select: ['id', 'displayName', 'description', 'groupTypes', 'mailEnabled', 'mail', 'mailNickname', 'securityEnabled', 'visibility', 'classification', 'isAssignableToRole', 'membershipRule', 'membershipRuleProcessingState', 'createdDateTime'],
    relations: ['members', 'owners'],
  },
  application: {
    path: 'applications',
    recycled: true,
    writable: true,
    readOnly: [...COMMON_READ_ONLY, 'appId'],
    immutable: [],
    select: ['id', 'appId', 'displayName', 'description', 'notes', 'signInAudience', 'identifierUris', 'web', 'spa', 'publicClient', 'api', 'appRoles', 'requiredResourceAccess', 'optionalClaims', 'groupMembershipClaims', 'info', 'tags', 'createdDateTime'],
    relations: ['owners'],
    expand: 'owners',
  },
  servicePrincipal: {
    path: 'servicePrincipals',
    recycled: true,
    writable: true,
    readOnly: COMMON_READ_ONLY,
    immutable: ['appId'],
    select: ['id', 'appId', 'displayName', 'description', 'notes', 'accountEnabled', 'servicePrincipalType', 'appRoleAssignmentRequired', 'tags', 'homepage', 'loginUrl', 'replyUrls', 'preferredSingleSignOnMode'],
    relations: ['owners'],
    expand: 'owners',
  },
  device: {
    path: 'devices',
    recycled: false,
    writable: true,
    readOnly: COMMON_READ_ONLY,
    immutable: ['deviceId'],
    select: ['id', 'deviceId', 'displayName', 'operatingSystem', 'operatingSystemVersion', 'accountEnabled', 'trustType', 'isCompliant', 'isManaged', 'approximateLastSignInDateTime'],
    relations: ['registeredOwners'],
    expand: 'registeredOwners',
  },
  directoryRole: {
    path: 'directoryRoles',
    recycled: false,
    writable: false,
    readOnly: [...COMMON_READ_ONLY, 'roleTemplateId'],
    immutable: [],
    select: ['id', 'displayName', 'description', 'roleTemplateId'],
    relations: ['members'],
  },
  administrativeUnit: {
    path: 'directory/administrativeUnits',
    recycled: true,
    writable: true,
    readOnly: COMMON_READ_ONLY,
    immutable: [],
    select: ['id', 'displayName', 'description', 'visibility', 'membershipType', 'membershipRule', 'membershipRuleProcessingState'],
    relations: ['members'],
  },
  conditionalAccessPolicy: {
    path: 'identity/conditionalAccess/policies',
    recycled: false,
    writable: true,
    readOnly: [...COMMON_READ_ONLY, 'modifiedDateTime'],
    immutable: [],
    select: ['id', 'displayName', 'state', 'conditions', 'grantControls', 'sessionControls', 'createdDateTime', 'modifiedDateTime'],
    relations: [],
  },
};

export function kindOfPath(path: string): EntityKind | undefined {
  return ENTITY_KINDS.find((k) => KINDS[k].path === path);
}

/** Which relations hold which kinds of target. Group members may be users, groups, devices or service principals. */
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
