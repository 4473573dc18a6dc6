import type { Faker } from '@faker-js/faker';
// The English locale alone: the package's main entry loads all ~70 locales, 0.2 s of every start-up
// here. Its instance's constructor is the Faker class, so a seeded instance of our own needs no more.
import { faker as english } from '@faker-js/faker/locale/en';

const FakerClass = english.constructor as typeof Faker;
import type { DirectoryState, LinkSet } from './directory.ts';
import type { Entity } from './model.ts';

export interface TenantSpec {
  readonly seed: number;
  /** Every generated date lies before this instant, so the same spec gives the same tenant on any day. */
  readonly referenceDate: Date;
  readonly users: number;
  /** Defaults to a GUID drawn from the seed. */
  readonly tenantId?: string;
}

/** Built-in role templates (ids as published by Microsoft); an activated directoryRole points at one. */
const ROLE_TEMPLATES = [
  ['Global Administrator', '62e90394-69f5-4237-9190-012177145e10'],
  ['User Administrator', 'fe930be7-5e62-47db-91af-98c3a49a38b1'],
  ['Groups Administrator', 'fdd7a751-b60b-444a-984c-02652fe8fa1c'],
  ['Application Administrator', '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3'],
  ['Security Administrator', '194ae4cb-b126-40b2-bd5b-6091b380977d'],
  ['Helpdesk Administrator', '729827e3-9c14-49f7-bb1b-9608f156bbb8'],
  ['Directory Readers', '88d8e3e3-8f55-4a1e-953a-9b9898b8876b'],
] as const;

/** Microsoft first-party applications every tenant has a service principal for. */
const FIRST_PARTY_APPS = [
  ['Microsoft Graph', '00000003-0000-0000-c000-000000000000'],
  ['Office 365 Exchange Online', '00000002-0000-0ff1-ce00-000000000000'],
  ['Office 365 SharePoint Online', '00000003-0000-0ff1-ce00-000000000000'],
] as const;

const DEPARTMENTS = ['Engineering', 'Finance', 'Sales', 'Marketing', 'Legal', 'Support', 'Operations', 'Human Resources'];
const OS = [
  ['Windows', '10.0.22631.3880'],
  ['iOS', '17.5.1'],
  ['MacMDM', '14.5'],
  ['Android', '14.0'],
] as const;

/**
 * Generates a tenant from a seed and a reference date. Nothing reads the clock or global
 * random state, so the same spec gives the same tenant byte for byte.
 * Sizes follow the user count: a group per 20 users, an application per 100, a device per 4,
 * an administrative unit per 1,000, seven activated roles and five conditional access policies.
 */
export function generateTenant(spec: TenantSpec): DirectoryState {
  const f = new FakerClass({ locale: english.rawDefinitions });
  f.seed(spec.seed);
  const ref = spec.referenceDate;
  f.setDefaultRefDate(ref);
  const tenantId = spec.tenantId ?? f.string.uuid();
  const domain = `${f.word.noun().toLowerCase().replace(/[^a-z]/g, '')}${f.number.int({ min: 10, max: 99 })}.onmicrosoft.com`;
  const past = (years: number): string => f.date.past({ years, refDate: ref }).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const pick = <T>(items: readonly T[]): T => items[f.number.int(items.length - 1)]!;
  /** Distinct random items; picks indices instead of shuffling so large pools stay cheap. */
  const sample = <T>(items: readonly T[], min: number, max: number): T[] => {
    const n = Math.min(items.length, f.number.int({ min, max }));
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(f.number.int(items.length - 1));
    return [...chosen].map((i) => items[i]!);
  };

  const users: Entity<'user'>[] = [];
  for (let i = 0; i < spec.users; i++) {
    const givenName = f.person.firstName();
    const surname = f.person.lastName();
    const nick = `${givenName}.${surname}${i}`.toLowerCase().replace(/[^a-z0-9.]/g, '');
    const guest = f.number.int(99) < 3;
    users.push({
      id: f.string.uuid(),
      displayName: `${givenName} ${surname}`,
      givenName,
      surname,
      userPrincipalName: guest ? `${nick}_example.com#EXT#@${domain}` : `${nick}@${domain}`,
      mail: guest ? `${nick}@example.com` : `${nick}@${domain}`,
      mailNickname: nick,
      userType: guest ? 'Guest' : 'Member',
      accountEnabled: f.number.int(99) < 95,
      jobTitle: f.person.jobTitle(),
      department: pick(DEPARTMENTS),
      officeLocation: `${f.number.int({ min: 1, max: 40 })}/${f.number.int({ min: 100, max: 999 })}`,
      businessPhones: [f.phone.number({ style: 'international' })],
      usageLocation: pick(['US', 'GB', 'DE', 'FR', 'NL', 'IE']),
      preferredLanguage: 'en-US',
      employeeId: String(100000 + i),
      createdDateTime: past(5),
    });
  }

  const groups: Entity<'group'>[] = [];
  const groupCount = Math.max(3, Math.ceil(spec.users / 20));
  for (let i = 0; i < groupCount; i++) {
    const unified = f.number.int(99) < 40;
    const name = `${f.commerce.department()} ${f.word.noun()} ${i}`;
    const nick = name.toLowerCase().replace(/[^a-z0-9]/g, '');
    groups.push({
      id: f.string.uuid(),
      displayName: name,
      description: f.company.catchPhrase(),
      groupTypes: unified ? ['Unified'] : [],
      mailEnabled: unified,
      mailNickname: nick,
      securityEnabled: !unified,
      ...(unified ? { mail: `${nick}@${domain}`, visibility: pick(['Public', 'Private']) } : {}),
      createdDateTime: past(4),
    });
  }

  const applications: Entity<'application'>[] = [];
  for (let i = 0; i < Math.max(2, Math.ceil(spec.users / 100)); i++) {
    const appId = f.string.uuid();
    applications.push({
      id: f.string.uuid(),
      appId,
      displayName: `${f.company.name()} ${pick(['Portal', 'Connector', 'Sync', 'API', 'Reports'])}`,
      signInAudience: pick(['AzureADMyOrg', 'AzureADMultipleOrgs']),
      identifierUris: [`api://${appId}`],
      web: { redirectUris: [`https://${f.internet.domainName()}/auth/callback`], implicitGrantSettings: { enableIdTokenIssuance: false, enableAccessTokenIssuance: false } },
      createdDateTime: past(3),
    });
  }

  const servicePrincipals: Entity<'servicePrincipal'>[] = [
    ...FIRST_PARTY_APPS.map(([displayName, appId]) => ({ id: f.string.uuid(), appId, displayName })),
    ...applications.map((a) => ({ id: f.string.uuid(), appId: a.appId!, displayName: a.displayName! })),
  ].map((sp) => ({
    ...sp,
    accountEnabled: true,
    servicePrincipalType: 'Application',
    appRoleAssignmentRequired: f.datatype.boolean(),
    tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
  }));

  const devices: Entity<'device'>[] = [];
  for (let i = 0; i < Math.ceil(spec.users / 4); i++) {
    const [operatingSystem, operatingSystemVersion] = pick(OS);
    devices.push({
      id: f.string.uuid(),
      deviceId: f.string.uuid(),
      displayName: `${operatingSystem.toUpperCase().slice(0, 3)}-${f.string.alphanumeric({ length: 7, casing: 'upper' })}`,
      operatingSystem,
      operatingSystemVersion,
      accountEnabled: true,
      trustType: pick(['AzureAd', 'ServerAd', 'Workplace']),
      isCompliant: f.datatype.boolean(),
      isManaged: f.datatype.boolean(),
      approximateLastSignInDateTime: past(1),
    });
  }

  const directoryRoles: Entity<'directoryRole'>[] = ROLE_TEMPLATES.map(([displayName, roleTemplateId]) => ({
    id: f.string.uuid(),
    displayName,
    description: `Members of the ${displayName} role.`,
    roleTemplateId,
  }));

  const administrativeUnits: Entity<'administrativeUnit'>[] = [];
  for (let i = 0; i < Math.max(1, Math.ceil(spec.users / 1000)); i++) {
    administrativeUnits.push({
      id: f.string.uuid(),
      displayName: `${f.location.city()} office`,
      description: f.company.catchPhrase(),
    });
  }

  const conditionalAccessPolicies: Entity<'conditionalAccessPolicy'>[] = [
    ['Require MFA for administrators', ['mfa']],
    ['Block legacy authentication', ['block']],
    ['Require compliant device', ['compliantDevice']],
    ['Require MFA for guests', ['mfa']],
    ['Require MFA for Azure management', ['mfa']],
  ].map(([displayName, controls]) => {
    const created = past(2);
    return {
      id: f.string.uuid(),
      displayName: displayName as string,
      state: pick(['enabled', 'disabled', 'enabledForReportingButNotEnforced'] as const),
      createdDateTime: created,
      modifiedDateTime: created,
      conditions: {
        clientAppTypes: ['all'],
        applications: { includeApplications: ['All'], excludeApplications: [] },
        users: { includeUsers: [], excludeUsers: [], includeGroups: [sample(groups, 1, 1)[0]!.id], excludeGroups: [], includeRoles: [], excludeRoles: [] },
      },
      grantControls: { operator: 'OR', builtInControls: controls as string[], customAuthenticationFactors: [], termsOfUse: [] },
    } as Entity<'conditionalAccessPolicy'>;
  });

  const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id);
  const links: LinkSet[] = [];
  for (const g of groups) {
    const targets = [...ids(sample(users, 3, 40))];
    if (f.number.int(9) === 0 && devices.length > 0) targets.push(...ids(sample(devices, 1, 5)));
    links.push({ kind: 'group', id: g.id, relation: 'members', targets });
  }
  for (const g of groups) links.push({ kind: 'group', id: g.id, relation: 'owners', targets: ids(sample(users, 1, 2)) });
  for (const r of directoryRoles) {
    const targets = ids(sample(users, 1, 5));
    if (r.displayName === 'Directory Readers') targets.push(...ids(sample(servicePrincipals, 1, 2)));
    links.push({ kind: 'directoryRole', id: r.id, relation: 'members', targets });
  }
  for (const au of administrativeUnits) links.push({ kind: 'administrativeUnit', id: au.id, relation: 'members', targets: ids(sample(users, 5, 20)) });
  // Drawn last so the links above stay as they were; listed in Directory.state() order.
  const managers: LinkSet[] = [];
  for (let i = 1; i < users.length; i++) {
    if (f.number.int(9) < 8) managers.push({ kind: 'user', id: users[i]!.id, relation: 'manager', targets: [users[f.number.int(i - 1)]!.id] });
  }
  const appOwners: LinkSet[] = applications.map((a): LinkSet => ({ kind: 'application', id: a.id, relation: 'owners', targets: ids(sample(users, 1, 2)) })).filter((l) => l.targets.length > 0);
  const deviceOwners: LinkSet[] = [];
  for (const d of devices) if (f.number.int(9) < 7) deviceOwners.push({ kind: 'device', id: d.id, relation: 'registeredOwners', targets: [users[f.number.int(users.length - 1)]!.id] });
  // Built as one array, not splice/unshift with spread arguments: a million-user tenant has more link sets than a call takes arguments.
  const found = links.findIndex((l) => l.kind === 'directoryRole');
  const roleAt = found < 0 ? Math.max(links.length - 1, 0) : found;
  const ordered = [...managers, ...links.slice(0, roleAt), ...appOwners, ...deviceOwners, ...links.slice(roleAt)];

  return {
    tenantId,
    objects: {
      user: users,
      group: groups,
      application: applications,
      servicePrincipal: servicePrincipals,
      device: devices,
      directoryRole: directoryRoles,
      administrativeUnit: administrativeUnits,
      conditionalAccessPolicy: conditionalAccessPolicies,
    },
    links: ordered,
    deleted: [],
  };
}
