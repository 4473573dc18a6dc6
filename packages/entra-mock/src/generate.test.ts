import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateTenant } from './generate.ts';
import { ENTITY_KINDS, RELATION_TARGETS } from './model.ts';

const referenceDate = new Date('2026-06-01T00:00:00Z');
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('generateTenant', () => {
  it('gives the same tenant byte for byte for the same seed and reference date', () => {
    const small = JSON.stringify(generateTenant({ seed: 7, referenceDate, users: 3 }), null, 2);
    expect(small).toMatchSnapshot();
    const a = JSON.stringify(generateTenant({ seed: 2026, referenceDate, users: 1000 }));
    const b = JSON.stringify(generateTenant({ seed: 2026, referenceDate, users: 1000 }));
    expect(a).toBe(b);
    // Stored hash: a faker upgrade or a generator change that alters tenants must be deliberate.
    expect(sha256(a)).toMatchSnapshot();
  });

  it('gives a different tenant for another seed, and never reads the clock', () => {
    const a = generateTenant({ seed: 1, referenceDate, users: 50 });
    const b = generateTenant({ seed: 2, referenceDate, users: 50 });
    expect(a.tenantId).not.toBe(b.tenantId);
    expect(a.objects.user[0]!.id).not.toBe(b.objects.user[0]!.id);
    for (const u of a.objects.user) expect(Date.parse(u.createdDateTime!)).toBeLessThan(referenceDate.getTime());
  });

  it('shapes objects like Graph: GUID ids, real property names, links to existing objects of allowed kinds', () => {
    const t = generateTenant({ seed: 3, referenceDate, users: 400, tenantId: '11111111-2222-4333-8444-555555555555' });
    expect(t.tenantId).toBe('11111111-2222-4333-8444-555555555555');
    const kindOf = new Map<string, string>();
    for (const kind of ENTITY_KINDS) {
      expect(t.objects[kind].length, kind).toBeGreaterThan(0);
      for (const o of t.objects[kind]) {
        expect(o.id).toMatch(GUID);
        expect(kindOf.has(o.id)).toBe(false);
        kindOf.set(o.id, kind);
      }
    }
    expect(new Set(t.objects.user.map((u) => u.userPrincipalName)).size).toBe(400);
    expect(t.objects.user[0]).toHaveProperty('userPrincipalName');
    expect(t.objects.group[0]).toHaveProperty('securityEnabled');
    expect(t.objects.servicePrincipal.map((s) => s.appId)).toContain('00000003-0000-0000-c000-000000000000');
    for (const l of t.links) {
      expect(kindOf.get(l.id)).toBe(l.kind);
      expect(new Set(l.targets).size).toBe(l.targets.length);
      for (const target of l.targets) expect(RELATION_TARGETS[`${l.kind}/${l.relation}`]).toContain(kindOf.get(target));
    }
  });

  // Speed is the benchmark's business (pnpm bench), not a timed test's: a loaded CI runner must not fail it.
  it('generates 100,000 users with their groups and devices', () => {
    const started = performance.now();
    const t = generateTenant({ seed: 100_000, referenceDate, users: 100_000 });
    const ms = performance.now() - started;
    console.info(`generateTenant: 100,000 users (${t.objects.group.length} groups, ${t.objects.device.length} devices) in ${Math.round(ms)} ms`);
    expect(t.objects.user).toHaveLength(100_000);
    expect(t.objects.group.length).toBeGreaterThan(0);
    expect(t.objects.device.length).toBeGreaterThan(0);
  }, 300_000);
});
