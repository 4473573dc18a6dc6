import { failure, type Failure } from '@ekm/domain';
import type { ConsoleView } from '@ekm/protocol';
import { refusalOf, TenantKeys, validateKey } from '@ekm/kms';
import { moved, type AccountRecord, type TenantCredentials } from './account-store.ts';
import { noCalls, type ProviderContext } from './context.ts';
import { countingPort, type KmsCalls } from './counting.ts';
import { keyVerdict, leadFinding } from './failure.ts';
import { migrate, strandedFailure } from './key-migration.ts';
import { ekmInForce, refusedIn, transitionId, type ConsoleCommand, type Phase } from './phases.ts';

export type CommandResult =
  | { readonly ok: true; readonly transition: string; readonly kmsCalls: KmsCalls; readonly message: string }
  | { readonly ok: false; readonly transition?: string; readonly kmsCalls: KmsCalls; readonly failure: Failure; readonly findings: readonly Failure[] };

type Refused = Extract<CommandResult, { ok: false }>;

/** The Key Management tab (EKM-01, EKM-02, EKM-10, EKM-16, EKM-21). */
export interface AccountView extends ConsoleView {
  /** Snapshots whose tenant key was lost with a destroyed key. */
  readonly unrecoverableSnapshots: readonly string[];
  readonly phase: Phase;
  readonly tenants: readonly string[];
  /** Former keys no tenant key is wrapped under any more: the customer may disable or delete them (EKM-16). */
  readonly safeToRetire: readonly string[];
}

const TERMS =
  "Enabling Enterprise Key Management will automatically disable Cloud Key Management. Once you switch to Enterprise Key Management, you can't return to the default Cloud Key Management.";

function refused(f: Failure, kmsCalls: KmsCalls = noCalls(), transition?: string, findings: readonly Failure[] = [f]): Refused {
  return { ok: false, ...(transition === undefined ? {} : { transition }), kmsCalls, failure: f, findings };
}

/** The refusal of a command the phase does not accept: no KMS call, nothing changed. */
function gate(record: AccountRecord, command: ConsoleCommand): Refused | undefined {
  const code = refusedIn(record.phase, command);
  return code === undefined ? undefined : refused(failure(code), noCalls(), transitionId(record.phase, command, 'refused'));
}

/** The console's commands of support and the customer, one account at a time. */
export class Console {
  readonly #c: ProviderContext;

  constructor(context: ProviderContext) {
    this.#c = context;
  }

  #locked(accountId: string, work: (record: AccountRecord) => Promise<CommandResult>): Promise<CommandResult> {
    return this.#c.locks.run(`account:${accountId}`, async () => work(await this.#c.accounts.require(accountId)));
  }

  /** A command that only moves the phase: refused ones change nothing. */
  #plain(accountId: string, command: ConsoleCommand, to: (r: AccountRecord) => AccountRecord, message: string): Promise<CommandResult> {
    return this.#locked(accountId, async (record) => {
      const no = gate(record, command);
      if (no !== undefined) return no;
      await this.#c.accounts.replace(record, to(record));
      return { ok: true, transition: transitionId(record.phase, command), kmsCalls: noCalls(), message };
    });
  }

  /** Support activates EKM for the account (controlled availability, EKM-01). */
  activate(accountId: string): Promise<CommandResult> {
    return this.#plain(
      accountId,
      'activate',
      (r) => ({ ...r, phase: 'cloudKms' }),
      'Enterprise Key Management is activated; the settings are shown on the Key Management tab.',
    );
  }

  /** The legal terms, shown after a successful validation. */
  showTerms(accountId: string): Promise<CommandResult> {
    return this.#plain(accountId, 'showTerms', (r) => ({ ...r, phase: 'termsShown' }), TERMS);
  }

  /** There is no way back to Cloud Key Management (EKM-09): always refused. */
  returnToCloudKms(accountId: string): Promise<CommandResult> {
    return this.#plain(accountId, 'returnToCloudKms', (r) => r, '');
  }

  async view(accountId: string): Promise<AccountView> {
    const c = this.#c;
    const record = await c.accounts.require(accountId);
    const inUse = new Set<string>();
    const unrecoverable: string[] = [];
    for (const t of record.tenants) {
      const entry = await c.journal.read(t.tenantId);
      if (entry !== undefined) inUse.add(entry.inForce.keyArn);
      if (entry?.pending !== undefined) inUse.add(entry.pending.keyArn);
      // Snapshots whose tenant key was lost with a destroyed key: the customer sees what is gone (EKM-21).
      const lost = new Set((entry?.lost ?? []).map((l) => l.version));
      if (lost.size > 0) for (const m of await c.store.list(record.accountId, t.tenantId)) if (lost.has(m.tenantKeyVersion)) unrecoverable.push(m.id);
    }
    const ekm = ekmInForce(record.phase);
    const activated = record.phase !== 'notActivated';
    return {
      ekmSection: activated,
      ...(activated ? { providerAccountId: c.accountId } : {}),
      ...(record.activeArn === undefined ? {} : { keyArn: record.activeArn }),
      externalKeyManagement: ekm ? 'Enabled' : 'Disabled',
      cloudKeyManagement: ekm ? 'Disabled' : 'Enabled',
      updateInProgress: record.phase === 'updating',
      unrecoverableSnapshots: unrecoverable,
      phase: record.phase,
      tenants: record.tenants.map((t) => t.tenantId),
      safeToRetire: record.phase === 'ekmEnabled' ? record.formerArns.filter((arn) => !inUse.has(arn)) : [],
    };
  }

  /** Validates a key ARN by using the key from the provider's account and reports every finding (EKM-03..06). A refused ARN changes nothing. */
  submitArn(accountId: string, input: string): Promise<CommandResult> {
    return this.#locked(accountId, async (record) => {
      const checked = await this.#validate(record, 'submitArn', input);
      if (!checked.ok) return checked;
      await this.#c.accounts.replace(record, moved(record, 'arnValidated', { pendingArn: checked.arn }));
      return {
        ok: true,
        transition: transitionId(record.phase, 'submitArn', 'validated'),
        kmsCalls: checked.kmsCalls,
        message: `The key ${checked.arn} is validated. Accept the terms to enable Enterprise Key Management.`,
      };
    });
  }

  /** The phase first (no KMS call for a command the phase refuses), then the key used from the provider's account. */
  async #validate(record: AccountRecord, command: 'submitArn' | 'updateKey', input: string): Promise<{ ok: true; arn: string; kmsCalls: KmsCalls } | Refused> {
    const no = gate(record, command);
    if (no !== undefined) return no;
    const { port, calls } = countingPort(this.#c.port);
    const validation = await validateKey(port, input, { regions: this.#c.regions });
    const rejected = transitionId(record.phase, command, 'rejected');
    if (validation.findings.length > 0) {
      // One refusal naming every finding in the customer's words, led by what to fix first.
      const refusal = refusalOf(validation.findings, leadFinding(validation.findings))!;
      return refused(refusal, calls, rejected, validation.findings);
    }
    const arn = validation.arn!.arn;
    if (command === 'updateKey' && arn === record.activeArn) {
      return refused(failure('SameKey', `${arn} is already the key in force; enter the ARN of the new key.`, arn), calls, rejected);
    }
    return { ok: true, arn, kmsCalls: calls };
  }

  /**
   * Declining (or abandoning) leaves Cloud Key Management in force and nothing changed (EKM-07).
   * A provider killed while enabling may have moved tenant keys under the declined key: they
   * move back under the provider's key first, so what the console says is what protects the data.
   */
  declineTerms(accountId: string): Promise<CommandResult> {
    return this.#locked(accountId, async (record) => {
      const no = gate(record, 'declineTerms');
      if (no !== undefined) return no;
      const c = this.#c;
      const { port, calls } = countingPort(c.port);
      const back = await migrate(port, c.journal, c.updateHooks, record, { to: c.cloudKeyArn, backTo: c.cloudKeyArn });
      if (!back.ok) return refused(back.failure, calls);
      await c.accounts.replace(record, moved(record, 'cloudKms', {}));
      return {
        ok: true,
        transition: transitionId(record.phase, 'declineTerms'),
        kmsCalls: calls,
        message: 'Enterprise Key Management was not enabled; Cloud Key Management stays in force.',
      };
    });
  }

  /** Accepting the terms enables EKM: every tenant key moves from the provider's key under the customer's key, then Cloud Key Management is off (EKM-07, EKM-08). */
  acceptTerms(accountId: string): Promise<CommandResult> {
    return this.#locked(accountId, async (record) => {
      const no = gate(record, 'acceptTerms');
      if (no !== undefined) return no;
      const c = this.#c;
      const arn = record.pendingArn!;
      const { port, calls } = countingPort(c.port);
      const m = await migrate(port, c.journal, c.updateHooks, record, { to: arn, backTo: c.cloudKeyArn });
      if (!m.ok && m.stranded.length > 0) return refused(strandedFailure(m, arn), calls);
      if (!m.ok) {
        // Enabling failed and every tenant key is back under the provider's key: Cloud Key Management stays, the ARN must be submitted again.
        await c.accounts.replace(record, moved(record, 'cloudKms', {}));
        return refused(keyVerdict(m.failure, 'write'), calls, transitionId(record.phase, 'acceptTerms', 'failed'));
      }
      await c.accounts.replace(record, moved(record, 'ekmEnabled', { activeArn: arn }));
      return {
        ok: true,
        transition: transitionId(record.phase, 'acceptTerms', 'enabled'),
        kmsCalls: calls,
        message: `Enterprise Key Management is enabled with ${arn}; Cloud Key Management is disabled.`,
      };
    });
  }

  /**
   * Updates the customer key (EKM-14..16): validates the new ARN exactly like submitArn, rewraps
   * every tenant key from the old key to the new one, then switches. If the old key is no longer
   * usable the update fails and the old ARN stays in force.
   */
  updateKey(accountId: string, input: string, options: { complete?: boolean } = {}): Promise<CommandResult> {
    return this.#locked(accountId, async (record) => {
      const checked = await this.#validate(record, 'updateKey', input);
      if (!checked.ok) return checked;
      const updating = await this.#c.accounts.replace(record, moved(record, 'updating', { activeArn: record.activeArn, pendingArn: checked.arn }));
      const started = transitionId(record.phase, 'updateKey', 'validated');
      // Stopping here leaves the update in progress, as a rewrap still running would: both keys are needed until completeUpdate.
      if (options.complete === false) {
        return {
          ok: true,
          transition: started,
          kmsCalls: checked.kmsCalls,
          message: `The key ${checked.arn} is validated and the update is in progress: keep both keys usable until it completes.`,
        };
      }
      const done = await this.#complete(updating);
      const total: KmsCalls = { total: checked.kmsCalls.total + done.kmsCalls.total, byOperation: { ...checked.kmsCalls.byOperation } };
      for (const [op, n] of Object.entries(done.kmsCalls.byOperation)) total.byOperation[op] = (total.byOperation[op] ?? 0) + n;
      return { ...done, kmsCalls: total };
    });
  }

  /** Finishes an update a killed provider left in progress (or refuses: NoUpdateInProgress). */
  completeUpdate(accountId: string): Promise<CommandResult> {
    return this.#locked(accountId, (record) => this.#complete(record));
  }

  async #complete(record: AccountRecord): Promise<CommandResult> {
    const no = gate(record, 'completeUpdate');
    if (no !== undefined) return no;
    const c = this.#c;
    const oldArn = record.activeArn!;
    const newArn = record.pendingArn!;
    const { port, calls } = countingPort(c.port);
    const m = await migrate(port, c.journal, c.updateHooks, record, { to: newArn, backTo: oldArn, precheckFrom: [oldArn] });
    // Keys left under the new key: the update stays in progress, the console keeps asking for both keys (EKM-15, EKM-16).
    if (!m.ok && m.stranded.length > 0) return refused(strandedFailure(m, newArn), calls);
    if (!m.ok) {
      // The old key stays in force, and nothing became unreadable through the update (EKM-15).
      await c.accounts.replace(record, moved(record, 'ekmEnabled', { activeArn: oldArn }));
      const f = m.failure.code === 'UpdateNeedsOldKey' ? m.failure : keyVerdict(m.failure, 'write');
      return refused(f, calls, transitionId(record.phase, 'completeUpdate', 'failed'));
    }
    await c.accounts.replace(record, moved(record, 'ekmEnabled', { activeArn: newArn }));
    const completed = transitionId(record.phase, 'completeUpdate', 'completed');
    if (m.replaced.length > 0) {
      const unrecoverable = (await this.view(record.accountId)).unrecoverableSnapshots;
      return {
        ok: true,
        transition: completed,
        kmsCalls: calls,
        message:
          `The KMS key ARN is updated to ${newArn}; new backups are protected by it. The old key ${oldArn} is destroyed: ` +
          `${unrecoverable.length} snapshot(s) it protected cannot be recovered (listed on the Key Management tab).`,
      };
    }
    return {
      ok: true,
      transition: completed,
      kmsCalls: calls,
      message: `The KMS key ARN is updated to ${newArn}. All backup data is now protected by it; ${oldArn} can be disabled or deleted.`,
    };
  }

  /**
   * Connects another Entra tenant to an account. Its tenant key is created under the provider's
   * key and, when a customer key protects the account, moved under it at once (EKM-08).
   */
  addTenant(accountId: string, tenant: TenantCredentials): Promise<CommandResult> {
    return this.#locked(accountId, async (record) => {
      const c = this.#c;
      const { port, calls } = countingPort(c.port);
      await new TenantKeys(port, c.journal).create(tenant.tenantId, c.cloudKeyArn);
      const next: AccountRecord = { ...record, tenants: [...record.tenants.filter((t) => t.tenantId !== tenant.tenantId), tenant] };
      const target = record.phase === 'updating' ? record.pendingArn : record.activeArn;
      if (target !== undefined) {
        const m = await migrate(port, c.journal, c.updateHooks, { ...next, tenants: [tenant] }, { to: target, backTo: c.cloudKeyArn });
        if (!m.ok) return refused(m.failure, calls);
      }
      await c.accounts.save(next);
      return { ok: true, transition: 'addTenant', kmsCalls: calls, message: `Tenant ${tenant.tenantId} is connected.` };
    });
  }
}
