import { createHash, randomUUID } from 'node:crypto';
import type { DeletedObject, DirectoryState, EntityKind, LinkSet, PartRead } from '@ekm/graph';
import { ENTITY_KINDS } from '@ekm/graph';
import { decryptSnapshot, encryptSnapshotStream, ProviderFailure, type TenantKey } from '@ekm/kms';
import { failure } from '@ekm/domain';

export type BackupWorkflow = 'scheduledBackup' | 'manualBackup';
import type { Bucket } from './bucket.ts';

/** A snapshot is stored as one encrypted object per part: each entity kind, the links, the recycle bin. */
export const PARTS = [...ENTITY_KINDS, 'links', 'deleted'] as const;
export type Part = (typeof PARTS)[number];

export interface ManifestPart {
  readonly part: Part;
  readonly object: string;
  /** Of the stored (encrypted) bytes: a part swapped or altered in storage is refused before decryption. */
  readonly sha256: string;
  readonly bytes: number;
  readonly items: number;
}

/**
 * Written last: a snapshot without a manifest is incomplete and never listed. It records
 * which key wrapped the tenant key when the snapshot was taken and which tenant-key version
 * encrypted it; the tenant key itself may have been rewrapped since (EKM-08, EKM-16).
 */
export interface Manifest {
  readonly format: 1;
  readonly id: string;
  readonly accountId: string;
  readonly tenantId: string;
  readonly workflow: BackupWorkflow;
  readonly createdAt: string;
  readonly keyArn: string;
  readonly cloudKeyManagement: boolean;
  readonly tenantKeyVersion: number;
  readonly parts: readonly ManifestPart[];
}

/** Crash points for fault injection: a throw here is a process dying at that moment. */
export interface BackupHooks {
  /** The tenant key is unwrapped and nothing is written yet. */
  readonly beforeData?: (snapshot: { accountId: string; tenantId: string; id: string }) => void | Promise<void>;
  readonly afterDataWritten?: (snapshot: { accountId: string; tenantId: string; id: string; objects: readonly string[] }) => void | Promise<void>;
  readonly beforeCommit?: (manifest: Manifest) => void | Promise<void>;
  /** The manifest is stored: the snapshot is complete, though the caller has not been told. */
  readonly afterCommit?: (manifest: Manifest) => void | Promise<void>;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const MANIFEST = 'manifest.json';
/** Characters of JSON gathered before they go to the cipher: whole frames, not one call per object. */
const JSON_CHUNK = 64 * 1024;

/** A tenant state already in memory, handed out part by part in the stored order. */
async function* partsOf(state: DirectoryState): AsyncGenerator<PartRead> {
  for (const part of PARTS) {
    const items = part === 'links' ? state.links : part === 'deleted' ? state.deleted : state.objects[part];
    yield {
      part,
      items: (async function* () {
        yield* items;
      })(),
    };
  }
}

/** Exactly `JSON.stringify([...items])`, produced as the items arrive; `counted.items` ends as their number. */
async function* jsonArray(items: AsyncIterable<unknown>, counted: { items: number }): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  let text = '[';
  for await (const item of items) {
    if (counted.items++ > 0) text += ',';
    text += JSON.stringify(item);
    if (text.length >= JSON_CHUNK) {
      yield encoder.encode(text);
      text = '';
    }
  }
  yield encoder.encode(`${text}]`);
}

/** Sortable by time, unique across processes. */
export function newSnapshotId(at: Date): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
}

/**
 * Snapshots on the provider's bucket:
 * `snapshots/<account>/<tenant>/<id>/<part>.enc` first, then `.../manifest.json`.
 */
export class SnapshotStore {
  readonly #bucket: Bucket;

  constructor(bucket: Bucket) {
    this.#bucket = bucket;
  }

  #prefix(accountId: string, tenantId: string): string {
    return `snapshots/${accountId}/${tenantId}/`;
  }

  /**
   * Encrypts and stores every part, then the manifest; returns the manifest once committed.
   * `source` may be read as it is written (readTenantParts): each part is serialised,
   * encrypted and hashed as its items arrive, so only one part's ciphertext is held at a time.
   */
  async write(
    key: TenantKey,
    source: DirectoryState | AsyncIterable<PartRead>,
    meta: Omit<Manifest, 'format' | 'parts' | 'tenantKeyVersion'>,
    hooks: BackupHooks = {},
  ): Promise<Manifest> {
    const base = `${this.#prefix(meta.accountId, meta.tenantId)}${meta.id}/`;
    const parts: ManifestPart[] = [];
    await hooks.beforeData?.({ accountId: meta.accountId, tenantId: meta.tenantId, id: meta.id });
    const reading = Symbol.asyncIterator in source ? source : partsOf(source);
    for await (const { part, items } of reading) {
      if (part !== PARTS[parts.length]) throw new Error(`snapshot part ${part} out of order, expected ${PARTS[parts.length]}`);
      const counted = { items: 0 };
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of encryptSnapshotStream(key, { tenant: meta.tenantId, snapshot: meta.id }, jsonArray(items, counted))) {
        const c = chunk as Buffer;
        hash.update(c);
        chunks.push(c);
        bytes += c.byteLength;
      }
      const sealed = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
      chunks.length = 0;
      const object = `${base}${part}.enc`;
      await this.#bucket.put(object, sealed);
      parts.push({ part, object, sha256: hash.digest('hex'), bytes, items: counted.items });
    }
    if (parts.length !== PARTS.length) throw new Error(`snapshot ${meta.id} has ${parts.length} of ${PARTS.length} parts`);
    await hooks.afterDataWritten?.({ accountId: meta.accountId, tenantId: meta.tenantId, id: meta.id, objects: parts.map((p) => p.object) });
    const manifest: Manifest = { format: 1, ...meta, tenantKeyVersion: key.version, parts };
    await hooks.beforeCommit?.(manifest);
    if (!(await this.#bucket.put(`${base}${MANIFEST}`, JSON.stringify(manifest, null, 2), { ifNoneMatch: '*' }))) {
      throw new Error(`snapshot ${meta.id} already has a manifest`);
    }
    await hooks.afterCommit?.(manifest);
    return manifest;
  }

  /** Complete snapshots of a tenant, oldest first. */
  async list(accountId: string, tenantId: string): Promise<Manifest[]> {
    const keys = (await this.#bucket.list(this.#prefix(accountId, tenantId))).filter((k) => k.endsWith(`/${MANIFEST}`));
    const manifests: Manifest[] = [];
    for (const k of keys) {
      const stored = await this.#bucket.get(k);
      if (stored !== undefined) manifests.push(JSON.parse(new TextDecoder().decode(stored.body)) as Manifest);
    }
    return manifests.sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1));
  }

  /** Objects under the tenant's prefix that belong to no complete snapshot, except those of backups still running. */
  async orphans(accountId: string, tenantId: string, running: ReadonlySet<string> = new Set()): Promise<string[]> {
    const prefix = this.#prefix(accountId, tenantId);
    const keys = await this.#bucket.list(prefix);
    const complete = new Set(keys.filter((k) => k.endsWith(`/${MANIFEST}`)).map((k) => k.slice(prefix.length).split('/')[0]));
    return keys.filter((k) => {
      const id = k.slice(prefix.length).split('/')[0]!;
      return !complete.has(id) && !running.has(id);
    });
  }

  async deleteObjects(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.#bucket.delete(keys);
  }

  /** Reads and decrypts the chosen parts (all by default) into a tenant state. */
  async read(key: TenantKey, manifest: Manifest, only?: ReadonlySet<Part>): Promise<DirectoryState> {
    const objects = Object.fromEntries(ENTITY_KINDS.map((k) => [k, []])) as unknown as Record<EntityKind, unknown[]>;
    let links: LinkSet[] = [];
    let deleted: DeletedObject[] = [];
    for (const p of manifest.parts) {
      if (only !== undefined && !only.has(p.part)) continue;
      const stored = await this.#bucket.get(p.object);
      if (stored === undefined || sha256(stored.body) !== p.sha256) {
        throw new ProviderFailure(failure('DataTampered', `Part ${p.part} of snapshot ${manifest.id} is missing or altered in storage.`));
      }
      const plain = await decryptSnapshot(key, stored.body, { tenant: manifest.tenantId, snapshot: manifest.id });
      const items = JSON.parse(new TextDecoder().decode(plain)) as unknown[];
      plain.fill(0);
      if (p.part === 'links') links = items as LinkSet[];
      else if (p.part === 'deleted') deleted = items as DeletedObject[];
      else objects[p.part] = items;
    }
    return { tenantId: manifest.tenantId, objects: objects as unknown as DirectoryState['objects'], links, deleted };
  }
}
