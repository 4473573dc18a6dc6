/**
 * Changes to the customer's Entra tenant between backups, made directly in the mock
 * directory: they are the customer's own edits, not the provider's, so they do not go
 * through the provider's Graph client.
 */
import { createHash } from 'node:crypto';
import type { Directory, Entity, EntityKind } from '@ekm/entra-mock';

/** Scenario entity kinds and the directory's; `role` is an activated directory role. */
export const KIND_OF: Record<string, EntityKind> = {
  user: 'user',
  group: 'group',
  application: 'application',
  servicePrincipal: 'servicePrincipal',
  device: 'device',
  role: 'directoryRole',
};

export interface NamedEntity {
  readonly kind: EntityKind;
  readonly id: string;
}

/** A GUID from a name, so the same scenario creates the same ids on every run. */
export function guid(...parts: readonly string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function domainOf(directory: Directory): string {
  const someone = directory.list('user')[0] as { userPrincipalName?: string } | undefined;
  return someone?.userPrincipalName?.split('@')[1] ?? 'contoso.onmicrosoft.com';
}

/** A Graph-shaped object of the kind, with the properties the scenario gives. */
export function newEntity(directory: Directory, kind: EntityKind, name: string, seed: string, properties: Readonly<Record<string, string>> = {}): Entity {
  const id = guid(seed, kind, name);
  const base: Record<string, unknown> = { id, displayName: name };
  switch (kind) {
    case 'user':
      Object.assign(base, {
        userPrincipalName: `${name}@${domainOf(directory)}`,
        mailNickname: name,
        accountEnabled: true,
        givenName: name,
        surname: 'Conformance',
      });
      break;
    case 'group':
      Object.assign(base, { mailNickname: name, mailEnabled: false, securityEnabled: true, groupTypes: [], description: `group ${name}` });
      break;
    case 'application':
      Object.assign(base, { appId: guid(seed, 'appId', name), signInAudience: 'AzureADMyOrg' });
      break;
    case 'servicePrincipal':
      Object.assign(base, { appId: guid(seed, 'appId', name), servicePrincipalType: 'Application', accountEnabled: true });
      break;
    case 'device':
      Object.assign(base, {
        deviceId: guid(seed, 'deviceId', name),
        operatingSystem: 'Windows',
        operatingSystemVersion: '10.0.22631.3880',
        accountEnabled: true,
      });
      break;
    default:
      throw new Error(`a ${kind} cannot be created in a tenant; pick user, group, application, servicePrincipal or device`);
  }
  return { ...base, ...properties } as unknown as Entity;
}

/** A small seeded generator: the same scenario drifts the same way on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JOB_TITLES = ['Auditor', 'Site Reliability Engineer', 'Controller', 'Account Executive', 'Paralegal'];

/**
 * Seeded changes of the kinds an in-place restore must undo: changed properties of users
 * and groups, deleted users (recycle bin), removed group memberships, and new users.
 */
export function drift(directory: Directory, changes: number, seed: number, at: Date): string[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T | undefined => (items.length === 0 ? undefined : items[Math.floor(next() * items.length)]);
  const done: string[] = [];
  for (let i = 0; i < changes; i++) {
    const users = directory.list('user');
    const groups = directory.list('group');
    switch (Math.floor(next() * 5)) {
      case 0: {
        const u = pick(users);
        if (u) directory.update('user', u.id, { jobTitle: pick(JOB_TITLES)!, officeLocation: `Floor ${1 + Math.floor(next() * 9)}` });
        if (u) done.push(`changed user ${u.id}`);
        break;
      }
      case 1: {
        const u = users.length > 2 ? pick(users) : undefined;
        if (u) directory.remove('user', u.id, at);
        if (u) done.push(`deleted user ${u.id}`);
        break;
      }
      case 2: {
        const g = pick(groups);
        if (g) directory.update('group', g.id, { description: `changed by drift ${seed}/${i}` });
        if (g) done.push(`changed group ${g.id}`);
        break;
      }
      case 3: {
        const g = pick(groups.filter((x) => directory.members('group', x.id, 'members').length > 0));
        const member = g && pick(directory.members('group', g.id, 'members'));
        if (g && member) directory.removeLink('group', g.id, 'members', member);
        if (g && member) done.push(`removed ${member} from group ${g.id}`);
        break;
      }
      default: {
        const name = `drift${seed}x${i}`;
        directory.add('user', newEntity(directory, 'user', name, String(seed)) as Entity<'user'>);
        done.push(`added user ${name}`);
      }
    }
  }
  return done;
}
