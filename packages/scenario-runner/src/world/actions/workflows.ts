/** The provider's workflows as the scheduler and the customer start them. */
import type { ActionName } from '../../format.ts';
import type { Outcome } from '../expect.ts';
import { asOutcome, CRASHED, SCHEDULE_EVERY_MS, StepError } from '../scene.ts';
import type { Handlers } from './handler.ts';

export const WORKFLOWS: Handlers<Extract<ActionName, `workflow.${string}`>> = {
  'workflow.scheduledBackup': async (s, a) => {
    const wait = s.nextDue - s.now().getTime();
    if (wait > 0) await s.advance(wait);
    // Every connected tenant is backed up, in the order they were connected (the protocol's order of results).
    const connected = [...s.tenants].filter(([, t]) => t.connected);
    const states = connected.map(([, t]) => t.tenant.directory.state());
    const at = s.now();
    const results = await s.call(() => s.provider.runScheduled(s.account, at));
    while (s.nextDue <= at.getTime()) s.nextDue += SCHEDULE_EVERY_MS;
    const now = s.now().getTime();
    s.mirror(() => s.keys.clock(now));
    const wanted = a.tenant ?? s.defaultTenant();
    if (results === CRASHED) return s.backupOutcome('scheduledBackup', CRASHED, undefined, states[0]!, connected[0]![0]);
    let mine: Outcome | undefined;
    for (const [i, [name]] of connected.entries()) {
      const result = results[i];
      if (result === undefined) continue;
      const outcome = s.backupOutcome('scheduledBackup', result, name === wanted ? a.snapshot : undefined, states[i]!, name);
      if (name === wanted) mine = outcome;
    }
    if (mine === undefined)
      throw new StepError(
        `the provider ran no scheduled backup of tenant ${wanted} although one was due (${results.length} result(s) for ${connected.length} connected tenant(s))`,
      );
    return mine;
  },
  'workflow.manualBackup': async (s, a) => {
    const name = a.tenant ?? s.defaultTenant();
    const tenant = s.tenantNamed(name);
    const state = tenant.directory.state();
    return s.backupOutcome('manualBackup', await s.call(() => s.provider.backup(s.account, { tenantId: tenant.tenantId })), a.snapshot, state, name);
  },
  'workflow.restore': async (s, a) => {
    const snap = a.snapshot === undefined ? undefined : s.snapshot(a.snapshot);
    const name = a.tenant ?? snap?.tenant ?? s.defaultTenant();
    const entities = a.entities?.map((n) => s.entity(n));
    const result = await s.provider.restore(s.account, {
      tenantId: s.tenantNamed(name).tenantId,
      ...(snap === undefined ? {} : { snapshot: snap.id }),
      ...(entities === undefined ? {} : { entities }),
    });
    const ok = result.ok;
    if (name === s.defaultTenant()) s.mirror(() => s.model.observe({ type: 'restore', ...(snap === undefined ? {} : { snapshotId: snap.id }) }, ok));
    return asOutcome(result);
  },
  'workflow.download': async (s, a) => {
    const snap = a.snapshot === undefined ? undefined : s.snapshot(a.snapshot);
    const name = a.tenant ?? snap?.tenant ?? s.defaultTenant();
    const result = await s.provider.download(s.account, { tenantId: s.tenantNamed(name).tenantId, ...(snap === undefined ? {} : { snapshot: snap.id }) });
    const ok = result.ok;
    if (name === s.defaultTenant()) s.mirror(() => s.model.observe({ type: 'download', ...(snap === undefined ? {} : { snapshotId: snap.id }) }, ok));
    if (result.ok) s.downloads.push({ name: `download ${s.downloads.length + 1}`, zip: result.zip });
    s.lastDownload = result.ok ? result.zip : undefined;
    return asOutcome(result);
  },
};
