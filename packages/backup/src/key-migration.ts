import { failure, type Failure } from '@ekm/domain';
import { TenantKeys, type KeyPort, type TenantKeyJournal, type UpdateHooks } from '@ekm/kms';
import type { AccountRecord } from './account-store.ts';
import { keyFailureOf } from './failure.ts';

export type Migration = { ok: true; replaced: readonly string[] } | { ok: false; failure: Failure; cause?: Failure; stranded: readonly string[] };

/**
 * Moves an account's tenant keys from one KMS key to another (enabling, declining after a
 * killed enable, updates, new tenants). Tenants already there count as moved, so a run
 * interrupted by a crash can be repeated. On a failure, every tenant key under the target
 * (moved by this run or by a killed one) is moved back where the keys allow it; those that
 * cannot be are `stranded`, and the caller must not report the move undone.
 */
export async function migrate(
  port: KeyPort,
  journal: TenantKeyJournal,
  hooks: UpdateHooks,
  record: AccountRecord,
  move: { readonly to: string; readonly backTo: string; readonly precheckFrom?: readonly string[] },
): Promise<Migration> {
  const keys = new TenantKeys(port, journal, hooks);
  const { to, backTo } = move;
  const precheckFrom = move.precheckFrom ?? [];
  const replaced: string[] = [];
  // Prove every tenant key can still be read before moving any (EKM-15), so a revoked old key fails the update before it starts.
  for (const t of record.tenants) {
    const entry = await keys.entry(t.tenantId);
    if (entry?.pending !== undefined) await keys.abandon(t.tenantId);
    if (entry === undefined || entry.inForce.keyArn === to || !precheckFrom.includes(entry.inForce.keyArn)) continue;
    try {
      (await keys.unwrap(t.tenantId)).drop();
    } catch (error) {
      const k = keyFailureOf(error);
      if (k === undefined) throw error;
      if (k.failure.code === 'KeyDeleted') {
        // Destroyed, not deactivated: the tenant key is gone with it and nothing can be rewrapped,
        // so waiting for the old key is pointless. A new tenant key under the new key (EKM-21).
        try {
          await keys.replace(t.tenantId, to);
        } catch (replacing) {
          const r = keyFailureOf(replacing);
          if (r === undefined) throw replacing;
          return { ok: false, ...r, stranded: await moveBack(keys, record, to, backTo) };
        }
        replaced.push(t.tenantId);
        continue;
      }
      const f =
        k.failure.kind === 'transient'
          ? k.failure
          : failure(
              'UpdateNeedsOldKey',
              `The old key ${entry.inForce.keyArn} can no longer be used (${k.failure.message}) The update was not made and the old key stays in force; make it usable again until the update completes.`,
              entry.inForce.keyArn,
            );
      return { ok: false, failure: f, cause: k.failure, stranded: await moveBack(keys, record, to, backTo) };
    }
  }
  for (const t of record.tenants) {
    const entry = await keys.entry(t.tenantId);
    if (entry === undefined || entry.inForce.keyArn === to) continue;
    try {
      await keys.rewrap(t.tenantId, to);
    } catch (error) {
      const k = keyFailureOf(error);
      if (k === undefined) throw error;
      return { ok: false, ...k, stranded: await moveBack(keys, record, to, backTo) };
    }
  }
  return { ok: true, replaced };
}

/** Best effort after a failed move: the tenants whose keys stay under `from` (a pending wrapping counts as nothing). */
async function moveBack(keys: TenantKeys, record: AccountRecord, from: string, backTo: string): Promise<string[]> {
  const stranded: string[] = [];
  for (const t of [...record.tenants].reverse()) {
    const entry = await keys.entry(t.tenantId);
    if (entry?.pending !== undefined) await keys.abandon(t.tenantId).catch(() => undefined);
    if (entry === undefined || entry.inForce.keyArn !== from || from === backTo) continue;
    try {
      await keys.rewrap(t.tenantId, backTo);
    } catch (error) {
      if (keyFailureOf(error) === undefined) throw error;
      stranded.push(t.tenantId);
    }
  }
  return stranded;
}

/** A failed move that left tenant keys under `arn`: nothing is rolled back in the settings, so the console shows the truth. */
export function strandedFailure(moved: { failure: Failure; stranded: readonly string[] }, arn: string): Failure {
  return failure(
    moved.failure.code,
    `${moved.failure.message} The keys of ${moved.stranded.length} tenant(s) are already protected by ${arn} and could not be moved back: keep both keys usable, make ${arn} usable again and repeat the command.`,
    moved.failure.field,
  );
}
