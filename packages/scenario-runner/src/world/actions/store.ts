/** The snapshot store and the clock: tampering (a capability), the no-loss check, time passing. */
import { checkTenantEquals, type Outcome } from '../expect.ts';
import { durationMs, NotApplicable, type Scene, StepError } from '../scene.ts';
import type { Handlers } from './handler.ts';

export const STORE: Handlers<'store.tamper' | 'verify.snapshots' | 'clock.advance'> = {
  'store.tamper': async (s, a) => {
    const tamper = s.provider.tamper;
    if (tamper === undefined) throw new NotApplicable('the provider under test does not declare capability store.tamper');
    const done = await tamper.call(s.provider, s.account, s.snapshot(a.snapshot).id, a.mode);
    if (!done.ok) throw new StepError(`the provider could not tamper with snapshot ${a.snapshot}: ${done.failure.message}`);
    return { ok: true };
  },
  'verify.snapshots': (s) => verifySnapshots(s),
  'clock.advance': async (s, a) => {
    await s.advance(durationMs(a.by));
    const now = s.now().getTime();
    s.mirror(() => s.keys.clock(now));
    return { ok: true };
  },
};

/**
 * Nothing lost: each snapshot reported complete restores exactly to the tenant it read, and
 * the store holds no complete snapshot that a failed backup left behind. A backup the
 * provider crashed in may have committed or not; if its snapshot is there, it restores exactly.
 */
async function verifySnapshots(s: Scene): Promise<Outcome> {
  const problems: string[] = [];
  const lose = (faults: readonly string[], why: string) => {
    problems.push(why);
    s.lose(faults);
  };
  const reported = new Set(s.backups.flatMap((b) => (b.id === undefined ? [] : [b.id])));
  const connected = [...s.tenants].filter(([, t]) => t.connected);
  const stored = await Promise.all(
    connected.map(async ([name, t]) => ({ name, list: await s.provider.snapshots(s.account, { tenantId: t.tenant.tenantId }) })),
  );
  const crashed = s.backups.filter((b) => b.crashed === true);
  const checks: { id: string; state: (typeof s.backups)[number]['state']; tenant: string; faults: readonly string[] }[] = s.backups.flatMap((b) =>
    b.id === undefined ? [] : [{ id: b.id, state: b.state, tenant: b.tenant, faults: b.faults }],
  );
  for (const { name, list } of stored) {
    for (const m of list) {
      if (reported.has(m.id)) continue;
      // A crash during a backup may leave a committed snapshot its caller never heard of: allowed, if it is whole.
      const crash = crashed.find((b) => b.tenant === name && !checks.some((c) => c.state === b.state));
      if (crash !== undefined) checks.push({ id: m.id, state: crash.state, tenant: name, faults: crash.faults });
      else lose(['unattributed'], `snapshot ${m.id} is complete in the store but its backup was reported failed`);
    }
  }
  for (const b of checks) {
    const restored = await s.provider.restore(s.account, { snapshot: b.id, tenantId: s.tenantNamed(b.tenant).tenantId });
    if (!restored.ok) {
      problems.push(`snapshot ${b.id} could not be restored: ${restored.failure.code} (${restored.failure.message})`);
      continue;
    }
    const wrong = checkTenantEquals(b.id, b.state, s.tenantNamed(b.tenant).directory.state());
    if (wrong !== undefined) lose(b.faults, wrong);
  }
  return problems.length === 0
    ? { ok: true, message: `${checks.length} snapshot(s) restore exactly` }
    : { ok: false, failure: { code: 'DataUnrecoverable', kind: 'permanent', message: problems.join('; ') } };
}
