import type { ProviderContext } from './context.ts';
import type { BackupResult, Workflows } from './workflows.ts';

/** Scheduled backups: each account's schedule on S3, run by `tick` on the caller's clock. */
export class Scheduler {
  readonly #c: ProviderContext;
  readonly #workflows: Workflows;

  constructor(context: ProviderContext, workflows: Workflows) {
    this.#c = context;
    this.#workflows = workflows;
  }

  /**
   * Runs the scheduled backups due at `now` (of one account, or of all), each tenant once, and
   * moves each schedule past `now`. A provider killed mid-run leaves the schedule due, so the
   * next tick takes the backup again.
   */
  async tick(now: Date, options: { accountId?: string } = {}): Promise<BackupResult[]> {
    const c = this.#c;
    const ids = options.accountId === undefined ? await c.accounts.ids() : [options.accountId];
    const results: BackupResult[] = [];
    for (const id of ids) {
      const record = await c.accounts.get(id);
      if (record?.schedule === undefined || new Date(record.schedule.nextDueAt).getTime() > now.getTime()) continue;
      for (const t of record.tenants) results.push(await this.#workflows.backup(id, { tenantId: t.tenantId, workflow: 'scheduledBackup', at: now }));
      await c.locks.run(`account:${id}`, async () => {
        const latest = await c.accounts.require(id);
        const s = latest.schedule!;
        let next = new Date(s.nextDueAt).getTime();
        while (next <= now.getTime()) next += s.everyMs;
        await c.accounts.save({ ...latest, schedule: { ...s, nextDueAt: new Date(next).toISOString() } });
      });
    }
    return results;
  }

  /** Sets or changes the backup schedule of an account; the first backup is due `everyMs` from `from`. */
  async schedule(accountId: string, everyMs: number, from: Date = this.#c.clock()): Promise<void> {
    const c = this.#c;
    await c.locks.run(`account:${accountId}`, async () => {
      const r = await c.accounts.require(accountId);
      await c.accounts.save({ ...r, schedule: { everyMs, nextDueAt: new Date(from.getTime() + everyMs).toISOString() } });
    });
  }
}
