import { describe, expect, it } from 'vitest';
import { TenantFaults } from './faults.ts';

describe('TenantFaults', () => {
  it('counted faults come first; 503s before 429s; then nothing', () => {
    const f = new TenantFaults();
    f.throttleNext(1, 2);
    f.unavailableNext(1, 3);
    expect([f.next(), f.next(), f.next()]).toEqual([{ status: 503, retryAfterSeconds: 3 }, { status: 429, retryAfterSeconds: 2 }, undefined]);
    expect(f.faulted).toBe(2);
  });

  it('a scoped fault starts after N requests and hits only its endpoint (a failure half-way through a backup)', () => {
    const f = new TenantFaults();
    f.scope({ after: 2, path: '/groups' });
    f.unavailableNext(2);
    const seen = ['/v1.0/users', '/v1.0/groups', '/v1.0/users', '/v1.0/groups', '/v1.0/Groups/x/members', '/v1.0/groups', '/v1.0/groups'].map((p) => f.next(p)?.status ?? 'ok');
    // users never fail; the first two group requests are served; the next two fail; then it is used up.
    expect(seen).toEqual(['ok', 'ok', 'ok', 'ok', 503, 503, 'ok']);
    f.clear();
    f.unavailableNext(1);
    expect(f.next('/v1.0/users')?.status).toBe(503);
  });
});
