import { describe, expect, it } from 'vitest';
import { Directory, DirectoryRefusal, canonicalJson, compareDirectories } from './directory.ts';
import { generateTenant } from './generate.ts';

const at = new Date('2026-06-02T00:00:00Z');
const original = generateTenant({ seed: 5, referenceDate: new Date('2026-06-01T00:00:00Z'), users: 120 });

describe('Directory', () => {
  it('holds the state it was given, as a deep copy', () => {
    const d = new Directory(original);
    expect(d.state()).toEqual(original);
    d.update('user', original.objects.user[0]!.id, { jobTitle: 'x' });
    expect(original.objects.user[0]!.jobTitle).not.toBe('x');
  });

  it('reports each difference entity by entity: kind, id, property', () => {
    const d = new Directory(original);
    const [u0, u1] = original.objects.user;
    const group = original.objects.group[0]!;
    const member = d.members('group', group.id, 'members')[0]!;
    const outsider = original.objects.user.find((u) => !d.members('group', group.id, 'members').includes(u.id))!;
    d.update('user', u0!.id, { jobTitle: 'Chief', mobilePhone: '+1 555 0100' });
    d.remove('user', u1!.id, at);
    d.removeLink('group', group.id, 'members', member);
    d.addLink('group', group.id, 'members', outsider.id);
    const differences = compareDirectories(original, d.state());
    expect(differences).toContainEqual({ kind: 'user', id: u0!.id, change: 'changed', property: 'jobTitle', expected: u0!.jobTitle, actual: 'Chief' });
    expect(differences).toContainEqual({ kind: 'user', id: u0!.id, change: 'changed', property: 'mobilePhone', expected: null, actual: '+1 555 0100' });
    expect(differences).toContainEqual({ kind: 'user', id: u1!.id, change: 'missing' });
    expect(differences).toContainEqual({ kind: 'group', id: group.id, change: 'linkMissing', property: 'members', targetId: member });
    expect(differences).toContainEqual({ kind: 'group', id: group.id, change: 'linkUnexpected', property: 'members', targetId: outsider.id });
    expect(compareDirectories(d.state(), original)).toContainEqual({ kind: 'user', id: u1!.id, change: 'unexpected' });
  });

  it('treats an absent property as null and ignores key order', () => {
    const d = new Directory(original);
    const u = original.objects.user[0]!;
    d.update('user', u.id, { mobilePhone: null });
    const reordered = Object.fromEntries(Object.entries(d.get('user', u.id)!).reverse());
    expect(canonicalJson(reordered)).toBe(canonicalJson(d.get('user', u.id)));
    expect(compareDirectories(original, d.state())).toEqual([]);
  });

  it('soft-deletes users, groups and applications; hard-deletes devices; deletion drops memberships', () => {
    const d = new Directory(original);
    const group = original.objects.group[0]!;
    const member = d.members('group', group.id, 'members')[0]!;
    d.remove('user', member, at);
    expect(d.members('group', group.id, 'members')).not.toContain(member);
    expect(d.deletedItems('user')[0]).toMatchObject({ kind: 'user', object: { id: member, deletedDateTime: at.toISOString() } });
    d.restore(member);
    expect(d.get('user', member)).not.toHaveProperty('deletedDateTime');
    expect(d.members('group', group.id, 'members')).not.toContain(member);
    const device = original.objects.device[0]!;
    d.remove('device', device.id, at);
    expect(d.deletedItems('device')).toEqual([]);
    expect(() => d.restore(device.id)).toThrow(DirectoryRefusal);
  });

  it('refuses duplicate members, unknown targets and targets of the wrong kind as Graph does', () => {
    const d = new Directory(original);
    const group = original.objects.group[0]!;
    const member = d.members('group', group.id, 'members')[0]!;
    expect(() => d.addLink('group', group.id, 'members', member)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => d.addLink('group', group.id, 'members', '00000000-0000-4000-8000-000000000000')).toThrow(expect.objectContaining({ status: 404 }));
    const app = original.objects.application[0]!;
    expect(() => d.addLink('group', group.id, 'members', app.id)).toThrow(expect.objectContaining({ status: 400 }));
  });
});
