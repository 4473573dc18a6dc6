import { rename, rm } from 'node:fs/promises';
import { failure, type Failure } from '@ekm/domain';
import {
  ENTITY_KINDS,
  executeRestorePlan,
  GraphClient,
  planRestore,
  planRestoreInPages,
  readTenant,
  readTenantParts,
  type LinkSet,
  type Unrestorable,
} from '@ekm/graph';
import { ProviderFailure, TenantKeys, unwrapTenantKey, type TenantKey, type WrappedTenantKey } from '@ekm/kms';
import { tenantOf, type AccountRecord, type TenantCredentials } from './account-store.ts';
import { noCalls, type ProviderContext } from './context.ts';
import { countingPort, type KmsCalls } from './counting.ts';
import { keyVerdict, toFailure } from './failure.ts';
import { transitionId } from './phases.ts';
import { only, partsFor, withEntities, type EntityRef } from './selection.ts';
import { stringifyJsonArray } from './json-stream.ts';
import { newSnapshotId, type BackupWorkflow, type Manifest, type Part } from './snapshots.ts';
import { writeZipFile, type ZipStreamEntry } from './zip.ts';

export type { BackupWorkflow } from './snapshots.ts';

/** Of a snapshot part, only what a read of chosen entities can need: the entities themselves and the link sets that name one. */
function chosenItems(entities: readonly EntityRef[]): (part: Part, item: unknown) => boolean {
  const ids = new Set(entities.map((e) => e.id));
  return (part, item) => {
    if (part === 'links') {
      const l = item as LinkSet;
      return ids.has(l.id) || l.targets.some((t) => ids.has(t));
    }
    return ids.has((item as { id: string }).id);
  };
}

export type Workflow = 'scheduledBackup' | 'manualBackup' | 'restore' | 'download';

interface WorkflowBase {
  readonly workflow: Workflow;
  readonly accountId: string;
  readonly tenantId: string;
  /** KMS calls made by this workflow, counted at the port. */
  readonly kmsCalls: KmsCalls;
  /** The transition taken, e.g. `ekmEnabled.restore.failed`. */
  readonly transition?: string;
}

export type WorkflowFailed = WorkflowBase & { readonly ok: false; readonly failure: Failure };
export type BackupResult = (WorkflowBase & { readonly ok: true; readonly snapshot: Manifest; readonly orphansRemoved: number }) | WorkflowFailed;
export type RestoreResult =
  | (WorkflowBase & { readonly ok: true; readonly snapshotId: string; readonly executed: number; readonly unrestorable: readonly Unrestorable[] })
  | WorkflowFailed;
export type DownloadResult =
  | (WorkflowBase & { readonly ok: true; readonly snapshotId: string; readonly file: string; readonly files: readonly string[] })
  | WorkflowFailed;

export interface ReadOptions {
  /** Default: the latest complete snapshot. */
  readonly snapshotId?: string;
  /** Default: the whole snapshot. */
  readonly entities?: readonly EntityRef[];
}

/**
 * Backups, restores and downloads. Each runs in every phase (Cloud Key Management or the
 * customer's key, whichever wraps the tenant key now) and unwraps the tenant key exactly once.
 */
export class Workflows {
  readonly #c: ProviderContext;

  constructor(context: ProviderContext) {
    this.#c = context;
  }

  #graphClient(tenant: TenantCredentials): GraphClient {
    return new GraphClient({ ...this.#c.graph, tenantId: tenant.tenantId, clientId: tenant.clientId, clientSecret: tenant.clientSecret });
  }

  #locked<T>(accountId: string, work: (record: AccountRecord) => Promise<T>): Promise<T> {
    return this.#c.locks.run(`workflows:${accountId}`, async () => work(await this.#c.accounts.require(accountId)));
  }

  /**
   * Runs a workflow with its tenant key: unwrapped once at the start (one KMS Decrypt) and
   * dropped at the end whatever happens (EKM-11, EKM-19). Expected failures become values.
   */
  async #withTenantKey<T extends object>(
    record: AccountRecord,
    tenant: TenantCredentials,
    workflow: Workflow,
    work: (key: TenantKey, wrappedBy: string) => Promise<T>,
    /** The wrapping in force as the caller just read it from the journal (a read needs the entry first); else read here. */
    inForce?: WrappedTenantKey,
  ): Promise<(WorkflowBase & { ok: true } & T) | WorkflowFailed> {
    const c = this.#c;
    const { port, calls } = countingPort(c.workflowPort);
    const base = { workflow, accountId: record.accountId, tenantId: tenant.tenantId, kmsCalls: calls };
    const failed = (f: Failure): WorkflowFailed => ({ ...base, ok: false, transition: transitionId(record.phase, workflow, 'failed'), failure: f });
    const wrapped = inForce ?? (await new TenantKeys(port, c.journal).inForce(tenant.tenantId));
    let key: TenantKey;
    try {
      // Exactly the wrapping read above, so the snapshot records the key that was really used.
      key = await unwrapTenantKey(port, tenant.tenantId, wrapped);
    } catch (error) {
      const observed = toFailure(error);
      if (observed === undefined) throw error;
      // The provider's own key failing is reported as KMS said; the customer's key as what it means for this workflow.
      const reads = workflow === 'restore' || workflow === 'download';
      return failed(wrapped.keyArn === c.cloudKeyArn ? observed : keyVerdict(observed, reads ? 'read' : 'write'));
    }
    try {
      const value = await work(key, wrapped.keyArn);
      return { ...base, ok: true, transition: transitionId(record.phase, workflow, 'ok'), ...value };
    } catch (error) {
      const observed = toFailure(error);
      if (observed === undefined) throw error;
      return failed(observed);
    } finally {
      key.drop();
    }
  }

  /** A manual backup (or, from the scheduler, a scheduled one) of one tenant. */
  backup(accountId: string, options: { tenantId?: string; workflow?: BackupWorkflow; at?: Date } = {}): Promise<BackupResult> {
    const workflow = options.workflow ?? 'manualBackup';
    const c = this.#c;
    return this.#locked(accountId, async (record) => {
      const tenant = tenantOf(record, options.tenantId);
      const at = options.at ?? c.clock();
      const id = newSnapshotId(at);
      // Leftovers of a backup that failed or was killed: never listed, removed now.
      const orphans = await c.store.orphans(accountId, tenant.tenantId, c.running);
      await c.store.deleteObjects(orphans);
      c.running.add(id);
      try {
        return await this.#withTenantKey(record, tenant, workflow, async (key, wrappedBy) => {
          try {
            const snapshot = await c.store.write(
              key,
              readTenantParts(this.#graphClient(tenant)),
              {
                id,
                accountId,
                tenantId: tenant.tenantId,
                workflow,
                createdAt: at.toISOString(),
                keyArn: wrappedBy,
                cloudKeyManagement: wrappedBy === c.cloudKeyArn,
              },
              c.hooks,
            );
            return { snapshot, orphansRemoved: orphans.length };
          } catch (error) {
            // An expected failure commits nothing: its data objects go now. A crash leaves them to the next run.
            if (toFailure(error) !== undefined)
              await c.store.deleteObjects(await c.store.orphans(accountId, tenant.tenantId, new Set([...c.running].filter((r) => r !== id))));
            throw error;
          }
        });
      } finally {
        c.running.delete(id);
      }
    });
  }

  /**
   * The snapshot a read names, or why it cannot be read without any KMS call: not there, or lost with a
   * destroyed key (EKM-21). With it the wrapping in force from the same journal read, one read for both.
   */
  async #readable(
    record: AccountRecord,
    tenant: TenantCredentials,
    workflow: 'restore' | 'download',
    snapshotId: string | undefined,
  ): Promise<{ manifest: Manifest; inForce: WrappedTenantKey | undefined } | WorkflowFailed> {
    const c = this.#c;
    const all = await c.store.list(record.accountId, tenant.tenantId);
    const manifest = snapshotId === undefined ? all.at(-1) : all.find((m) => m.id === snapshotId);
    const failed = (f: Failure): WorkflowFailed => ({
      workflow,
      accountId: record.accountId,
      tenantId: tenant.tenantId,
      kmsCalls: noCalls(),
      ok: false,
      transition: transitionId(record.phase, workflow, 'failed'),
      failure: f,
    });
    if (manifest === undefined)
      return failed(
        failure('SnapshotNotFound', snapshotId === undefined ? 'The tenant has no complete snapshot.' : `No complete snapshot ${snapshotId}.`, snapshotId),
      );
    // Encrypted under a tenant key lost with its destroyed KMS key: unwrapping the new tenant key could only fail the integrity check.
    const entry = await c.journal.read(tenant.tenantId);
    const lost = entry?.lost?.find((l) => l.version === manifest.tenantKeyVersion);
    if (lost !== undefined && entry?.inForce.version !== manifest.tenantKeyVersion) {
      return failed(
        failure(
          'DataUnrecoverable',
          `Snapshot ${manifest.id} was protected only by the key ${lost.keyArn}, which is destroyed; its data cannot be recovered.`,
          manifest.id,
        ),
      );
    }
    return { manifest, inForce: entry?.inForce };
  }

  /** A restore or download: the snapshot found readable, then the work with its tenant key, the wrapping in force from the same journal read. */
  #reading<T extends object>(
    accountId: string,
    options: ReadOptions & { tenantId?: string },
    workflow: 'restore' | 'download',
    work: (key: TenantKey, manifest: Manifest, tenant: TenantCredentials) => Promise<T>,
  ): Promise<(WorkflowBase & { ok: true } & T) | WorkflowFailed> {
    return this.#locked(accountId, async (record) => {
      const tenant = tenantOf(record, options.tenantId);
      const readable = await this.#readable(record, tenant, workflow, options.snapshotId);
      if ('ok' in readable) return readable;
      return this.#withTenantKey(record, tenant, workflow, (key) => work(key, readable.manifest, tenant), readable.inForce);
    });
  }

  /** In-place restore of a whole snapshot, or of chosen entities (their properties, their own members/owners and their memberships), through Graph. */
  restore(accountId: string, options: ReadOptions & { tenantId?: string } = {}): Promise<RestoreResult> {
    return this.#reading(accountId, options, 'restore', async (key, manifest, tenant) => {
      const store = this.#c.store;
      const graph = this.#graphClient(tenant);
      if (options.entities === undefined) {
        // The whole snapshot: planned in passes over the stored parts and the tenant's Graph pages, neither
        // held whole (planRestoreInPages). Every part is read through, its hash checked, before any Graph write.
        const plan = await planRestoreInPages(() => store.parts(key, manifest), readTenantParts(graph));
        key.drop();
        const outcome = await executeRestorePlan(graph, plan);
        return { snapshotId: manifest.id, executed: outcome.executed, unrestorable: plan.unrestorable };
      }
      const snapshot = await store.read(key, manifest, partsFor(options.entities), chosenItems(options.entities));
      key.drop();
      const current = await readTenant(graph);
      const target = withEntities(current, snapshot, options.entities);
      if ('code' in target) throw new ProviderFailure(target);
      const plan = planRestore(target, current);
      const outcome = await executeRestorePlan(graph, plan);
      return { snapshotId: manifest.id, executed: outcome.executed, unrestorable: plan.unrestorable };
    });
  }

  /** Downloads a snapshot (or chosen entities) to `file`: a zip of JSON a person can open, written under a temporary name and renamed. */
  download(accountId: string, options: ReadOptions & { tenantId?: string; file: string }): Promise<DownloadResult> {
    return this.#reading(accountId, options, 'download', async (key, manifest) => {
      const store = this.#c.store;
      const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2));
      const about = {
        name: 'snapshot.json',
        data: json({
          snapshotId: manifest.id,
          tenantId: manifest.tenantId,
          createdAt: manifest.createdAt,
          workflow: manifest.workflow,
          entities: options.entities ?? 'all',
        }),
      };
      let entries: AsyncIterable<ZipStreamEntry> | ZipStreamEntry[];
      if (options.entities === undefined) {
        // The whole snapshot: each part decrypted, pretty-printed and deflated into the file as it is read.
        // The first part's header and first frame are checked before the file is created, as when the snapshot was read whole first.
        const parts = store.parts(key, manifest)[Symbol.asyncIterator]();
        const first = await parts.next();
        const head = first.done === true ? undefined : { part: first.value.part, items: first.value.items[Symbol.asyncIterator]() };
        const peeked = head === undefined ? undefined : await head.items.next();
        entries = (async function* () {
          yield about;
          if (head === undefined || peeked === undefined) return;
          const rest = head.items;
          const items = (async function* () {
            if (peeked.done === true) return;
            yield peeked.value;
            for (let r = await rest.next(); r.done !== true; r = await rest.next()) yield r.value;
          })();
          yield { name: `${head.part}.json`, data: stringifyJsonArray(items, { indent: 2 }) };
          for (let r = await parts.next(); r.done !== true; r = await parts.next())
            yield { name: `${r.value.part}.json`, data: stringifyJsonArray(r.value.items, { indent: 2 }) };
        })();
      } else {
        const snapshot = await store.read(key, manifest, partsFor(options.entities), chosenItems(options.entities));
        key.drop();
        const chosen = only(snapshot, options.entities);
        if ('code' in chosen) throw new ProviderFailure(chosen);
        entries = [
          about,
          ...ENTITY_KINDS.filter((k) => chosen.objects[k].length > 0).map((k) => ({ name: `${k}.json`, data: json(chosen.objects[k]) })),
          { name: 'links.json', data: json(chosen.links) },
        ];
      }
      const partial = `${options.file}.partial`;
      let files: string[];
      try {
        files = await writeZipFile(partial, entries);
        await rename(partial, options.file);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      return { snapshotId: manifest.id, file: options.file, files };
    });
  }
}
