import type { EntityKind } from './model.ts';

/**
 * What Microsoft's Graph v1.0 reference says about each type's properties (resources/*.md and
 * the create/update pages), as far as the mock models them. Property names are matched
 * case-insensitively, as Graph does; `canonical` gives the documented spelling.
 */
export interface TypeSchema {
  /** Every property the mock knows for the type; `$select` or a write naming another is refused. */
  readonly properties: readonly string[];
  /** Returned without `$select` (user-list.md: 11 properties for users); undefined: every stored property. */
  readonly defaults?: readonly string[];
  /** Needed in a create body (user-post-users.md, group-post-groups.md, ...). */
  readonly required: readonly string[];
  /** Set at creation and never changed by a PATCH. */
  readonly immutable: readonly string[];
  /** Collections that hold at most one value (user.md: businessPhones). */
  readonly single: readonly string[];
  /** Never returned on read, even when selected (user.md: passwordProfile). */
  readonly writeOnly: readonly string[];
  /** Properties a list cannot return (user-list.md: 501 Not Implemented); only a single GET can. */
  readonly singleOnly: readonly string[];
  /** The resource name in Graph's error messages, e.g. `User`. */
  readonly resource: string;
}

const USER_DEFAULTS = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];

export const SCHEMAS: { readonly [K in EntityKind]: TypeSchema } = {
  user: {
    resource: 'User',
    properties: [
      ...USER_DEFAULTS,
      'accountEnabled', 'ageGroup', 'city', 'companyName', 'country', 'createdDateTime', 'creationType', 'deletedDateTime', 'department',
      'employeeHireDate', 'employeeId', 'employeeType', 'externalUserState', 'faxNumber', 'identities', 'imAddresses', 'lastPasswordChangeDateTime',
      'mailNickname', 'onPremisesImmutableId', 'onPremisesSyncEnabled', 'otherMails', 'passwordPolicies', 'passwordProfile', 'postalCode',
      'proxyAddresses', 'showInAddressList', 'signInActivity', 'state', 'streetAddress', 'usageLocation', 'userType',
      'aboutMe', 'birthday', 'hireDate', 'interests', 'mySite', 'pastProjects', 'preferredName', 'responsibilities', 'schools', 'skills', 'mailboxSettings',
    ],
    defaults: USER_DEFAULTS,
    required: ['accountEnabled', 'displayName', 'mailNickname', 'passwordProfile', 'userPrincipalName'],
    immutable: [],
    single: ['businessPhones'],
    writeOnly: ['passwordProfile'],
    singleOnly: ['aboutMe', 'birthday', 'hireDate', 'interests', 'mySite', 'pastProjects', 'preferredName', 'responsibilities', 'schools', 'skills', 'mailboxSettings'],
  },
  group: {
    resource: 'Group',
    properties: [
      'id', 'classification', 'createdDateTime', 'deletedDateTime', 'description', 'displayName', 'expirationDateTime', 'groupTypes', 'isAssignableToRole',
      'mail', 'mailEnabled', 'mailNickname', 'membershipRule', 'membershipRuleProcessingState', 'onPremisesSyncEnabled', 'preferredDataLocation',
      'proxyAddresses', 'renewedDateTime', 'securityEnabled', 'securityIdentifier', 'theme', 'visibility',
    ],
    required: ['displayName', 'mailEnabled', 'mailNickname', 'securityEnabled'],
    immutable: ['isAssignableToRole'],
    single: [],
    writeOnly: [],
    singleOnly: [],
  },
  application: {
    resource: 'Application',
    properties: [
      'id', 'api', 'appId', 'appRoles', 'createdDateTime', 'deletedDateTime', 'description', 'disabledByMicrosoftStatus', 'displayName', 'groupMembershipClaims',
      'identifierUris', 'info', 'isFallbackPublicClient', 'keyCredentials', 'notes', 'optionalClaims', 'parentalControlSettings', 'passwordCredentials',
      'publicClient', 'publisherDomain', 'requiredResourceAccess', 'signInAudience', 'spa', 'tags', 'tokenEncryptionKeyId', 'web',
    ],
    required: ['displayName'],
    immutable: [],
    single: [],
    writeOnly: [],
    singleOnly: [],
  },
  servicePrincipal: {
    resource: 'ServicePrincipal',
    properties: [
      'id', 'accountEnabled', 'alternativeNames', 'appDescription', 'appDisplayName', 'appId', 'appOwnerOrganizationId', 'appRoleAssignmentRequired', 'appRoles',
      'deletedDateTime', 'description', 'displayName', 'homepage', 'keyCredentials', 'loginUrl', 'logoutUrl', 'notes', 'oauth2PermissionScopes',
      'passwordCredentials', 'preferredSingleSignOnMode', 'replyUrls', 'servicePrincipalNames', 'servicePrincipalType', 'signInAudience', 'tags',
    ],
    required: ['appId'],
    immutable: ['appId'],
    single: [],
    writeOnly: [],
    singleOnly: [],
  },
  device: {
    resource: 'Device',
    properties: [
      'id', 'accountEnabled', 'alternativeSecurityIds', 'approximateLastSignInDateTime', 'complianceExpirationDateTime', 'deletedDateTime', 'deviceId',
      'deviceMetadata', 'deviceVersion', 'displayName', 'isCompliant', 'isManaged', 'manufacturer', 'mdmAppId', 'model', 'onPremisesSyncEnabled',
      'operatingSystem', 'operatingSystemVersion', 'physicalIds', 'profileType', 'registrationDateTime', 'trustType',
    ],
    // device-post-devices.md also requires alternativeSecurityIds; the generator has none (README: not modelled).
    required: ['accountEnabled', 'deviceId', 'displayName', 'operatingSystem', 'operatingSystemVersion'],
    immutable: ['deviceId'],
    single: [],
    writeOnly: [],
    singleOnly: [],
  },
  directoryRole: {
    resource: 'DirectoryRole',
    properties: ['id', 'deletedDateTime', 'description', 'displayName', 'roleTemplateId'],
    required: ['roleTemplateId'],
    immutable: ['roleTemplateId'],
    single: [],
    writeOnly: [],
    singleOnly: [],
  },
  administrativeUnit: {
    resource: 'AdministrativeUnit',
    properties: ['id', 'deletedDateTime', 'description', 'displayName', 'isMemberManagementRestricted', 'membershipRule', 'membershipRuleProcessingState', 'membershipType', 'visibility'],
    required: ['displayName'],
    immutable: [],
    single: [],
    writeOnly: [],
    singleOnly: [],
  },
  conditionalAccessPolicy: {
    resource: 'ConditionalAccessPolicy',
    properties: ['id', 'conditions', 'createdDateTime', 'description', 'displayName', 'grantControls', 'modifiedDateTime', 'sessionControls', 'state', 'templateId'],
    required: ['displayName', 'conditions', 'state'],
    immutable: [],
    single: [],
    writeOnly: [],
    singleOnly: [],
  },
};

/** The documented spelling of a property named in any case, or undefined when the type has no such property. */
export function canonical(kind: EntityKind, name: string): string | undefined {
  const lower = name.toLowerCase();
  return SCHEMAS[kind].properties.find((p) => p.toLowerCase() === lower);
}
