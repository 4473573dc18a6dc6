import { createHash, randomUUID } from 'node:crypto';
import type { DeletedObject, DirectoryState, EntityKind, LinkSet, PartRead } from '@ekm/graph';
import { ENTITY_KINDS } from '@ekm/graph';
import { decryptSnapshotStream, encryptSnapshotStream, ProviderFailure, type TenantKey } from '@ekm/kms';
import { failure } from '@ekm/domain';
import { getStreamed, putStreamed, type Bucket } from './bucket.ts';
import { ByteReader } from './byte-reader.ts';
import { parseJsonArray, stringifyJsonArray } from './json-stream.ts';

export type BackupWorkflow = 'scheduledBackup' | 'manualBackup';

/**
 * A snapshot has one encrypted message per part: each entity kind, the links, the recycle bin.
 * Format 2 stores them one after another in one object (a backup is two writes, a restore one
 * read); format 1, one object per part, is still read.
 */
export const PARTS = [...ENTITY_KINDS, 'links', 'deleted'] as const;
export type Part = (typeof PARTS)[number];

export interface ManifestPart {
  readonly part: Part;
  readonly object: string;
  /** Where the part's message starts in `object` (format 2); absent, the part is the whole object (format 1). */
  readonly offset?: number;
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
  readonly format: 1 | 2;
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

const MANIFEST = 'manifest.json';
const DATA = 'data.enc';

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

/** Sortable by time, unique across processes. */
export function newSnapshotId(at: Date): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
}

/**
 * Snapshots on the provider's bucket:
 * `snapshots/<account>/<tenant>/<id>/data.enc` first, then `.../manifest.json`.
 */
export class SnapshotStore {
  readonly #bucket: Bucket;
  /** Manifests already read, by object key, with the ETag they had: a listing that shows the same ETag needs no read. */
  readonly #manifests = new Map<string, { etag: string; manifest: Manifest }>();

  constructor(bucket: Bucket) {
    this.#bucket = bucket;
  }

  #prefix(accountId: string, tenantId: string): string {
    return `snapshots/${accountId}/${tenantId}/`;
  }

  /**
   * Encrypts and stores every part, then the manifest; returns the manifest once committed.
   * `source` may be read as it is written (readTenantParts): each part is serialised,
   * encrypted, hashed and uploaded as its items arrive (a multipart upload on S3), so a
   * bounded piece of one part is held at a time whatever the tenant's size.
   */
  async write(
    key: TenantKey,
    source: DirectoryState | AsyncIterable<PartRead>,
    meta: Omit<Manifest, 'format' | 'parts' | 'tenantKeyVersion'>,
    hooks: BackupHooks = {},
  ): Promise<Manifest> {
    const base = `${this.#prefix(meta.accountId, meta.tenantId)}${meta.id}/`;
    const object = `${base}${DATA}`;
    const parts: ManifestPart[] = [];
    await hooks.beforeData?.({ accountId: meta.accountId, tenantId: meta.tenantId, id: meta.id });
    const reading = Symbol.asyncIterator in source ? source : partsOf(source);
    // Every part's message in stored order, each hashed as it passes: one upload for the whole snapshot.
    async function* sealed(): AsyncGenerator<Uint8Array> {
      let offset = 0;
      for await (const { part, items } of reading) {
        if (part !== PARTS[parts.length]) throw new Error(`snapshot part ${part} out of order, expected ${PARTS[parts.length]}`);
        const counted = { items: 0 };
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of encryptSnapshotStream(key, { tenant: meta.tenantId, snapshot: meta.id }, stringifyJsonArray(items, { counted }))) {
          const c = chunk as Buffer;
          hash.update(c);
          bytes += c.byteLength;
          yield c;
        }
        parts.push({ part, object, offset, sha256: hash.digest('hex'), bytes, items: counted.items });
        offset += bytes;
      }
    }
    // A source that fails fails the upload: the object is not written (S3 aborts the multipart upload).
    await putStreamed(this.#bucket, object, sealed());
    if (parts.length !== PARTS.length) throw new Error(`snapshot ${meta.id} has ${parts.length} of ${PARTS.length} parts`);
    await hooks.afterDataWritten?.({ accountId: meta.accountId, tenantId: meta.tenantId, id: meta.id, objects: [object] });
    const manifest: Manifest = { format: 2, ...meta, tenantKeyVersion: key.version, parts };
    await hooks.beforeCommit?.(manifest);
    if (!(await this.#bucket.put(`${base}${MANIFEST}`, JSON.stringify(manifest, null, 2), { ifNoneMatch: '*' }))) {
      throw new Error(`snapshot ${meta.id} already has a manifest`);
    }
    await hooks.afterCommit?.(manifest);
    return manifest;
  }

  /** Complete snapshots of a tenant, oldest first. */
  async list(accountId: string, tenantId: string): Promise<Manifest[]> {
    const prefix = this.#prefix(accountId, tenantId);
    const listed =
      this.#bucket.entries === undefined ? (await this.#bucket.list(prefix)).map((key) => ({ key, etag: undefined })) : await this.#bucket.entries(prefix);
    const manifests: Manifest[] = [];
    for (const { key, etag } of listed.filter((o) => o.key.endsWith(`/${MANIFEST}`))) {
      // A manifest is written once; one rewritten in storage has another ETag and is read again.
      const known = this.#manifests.get(key);
      if (known !== undefined && known.etag === etag) {
        manifests.push(known.manifest);
        continue;
      }
      const stored = await this.#bucket.get(key);
      if (stored === undefined) continue;
      const manifest = JSON.parse(new TextDecoder().decode(stored.body)) as Manifest;
      if (stored.etag !== '') this.#manifests.set(key, { etag: stored.etag, manifest });
      manifests.push(manifest);
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

  /**
   * The chosen parts (all by default), in the stored order, each decrypted and parsed as it is
   * read from storage: one part is open at a time, and of it only a frame and the item being
   * parsed are held. Each part must be consumed before the next is asked for (what is left of
   * it is read through then, so its hash is always checked). A part whose stored bytes do not
   * match the manifest's hash, or that fails decryption, throws DataTampered; items already
   * handed out came from frames that were authenticated, but the part as a whole is only
   * vouched for once its last item is out: act on nothing until the stream has ended.
   */
  async *parts(key: TenantKey, manifest: Manifest, only?: ReadonlySet<Part>): AsyncGenerator<{ readonly part: Part; readonly items: AsyncIterable<unknown> }> {
    const chosen = manifest.parts.filter((p) => only === undefined || only.has(p.part));
    // One read per run of adjacent chosen parts in one object: a whole format-2 snapshot is one request.
    for (let i = 0; i < chosen.length; ) {
      let j = i + 1;
      while (j < chosen.length && adjacent(chosen[j - 1]!, chosen[j]!)) j++;
      const run = chosen.slice(i, j);
      i = j;
      const first = run[0]!;
      const last = run.at(-1)!;
      const range = first.offset === undefined ? undefined : { start: first.offset, end: last.offset! + last.bytes - 1 };
      const source = range !== undefined && range.end < range.start ? emptySource() : await getStreamed(this.#bucket, first.object, range);
      if (source === undefined) throw altered(manifest, first);
      const reader = new ByteReader(source);
      try {
        for (const p of run) {
          const items = this.#partItems(key, manifest, p, reader);
          let finished = false;
          // A consumer that stops early does not close the part: what it left is read through below, so the hash is still checked.
          const handed: AsyncIterable<unknown> = {
            [Symbol.asyncIterator]: () => ({
              next: async () => {
                const r = await items.next();
                if (r.done) finished = true;
                return r;
              },
              return: async () => ({ done: true, value: undefined }),
            }),
          };
          yield { part: p.part, items: handed };
          if (!finished) for await (const _ of items);
        }
        await reader.finish();
      } finally {
        await reader.close();
      }
    }
  }

  /** One part's items, decrypted and parsed as its bytes arrive; its hash is checked once its bytes are all read. */
  async *#partItems(key: TenantKey, manifest: Manifest, p: ManifestPart, reader: ByteReader): AsyncGenerator<unknown> {
    const raw = reader.take(p.bytes);
    const hash = createHash('sha256');
    /** Storage failing mid-read (after the bucket's own resumes): said as itself, not as the data altered. */
    let unreadable: unknown;
    // Pulled by hand, not with for-await, so a decryption that gives up does not close the stream: the rest is still hashed.
    const hashed: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        async next() {
          try {
            const r = await raw.next();
            if (!r.done) hash.update(r.value);
            return r;
          } catch (error) {
            unreadable = error;
            throw error;
          }
        },
      }),
    };
    const drainAndCheck = async () => {
      for (let r = await raw.next(); !r.done; r = await raw.next()) hash.update(r.value);
      if (hash.digest('hex') !== p.sha256) throw altered(manifest, p);
    };
    const parsed = parseJsonArray(decryptSnapshotStream(key, { tenant: manifest.tenantId, snapshot: manifest.id }, hashed));
    try {
      yield* parsed;
    } catch (error) {
      if (unreadable !== undefined) throw unreadable;
      // What storage altered is said as such; an authenticated message that fails otherwise keeps its own failure.
      await drainAndCheck();
      throw error;
    }
    await drainAndCheck();
  }

  /** Reads and decrypts the chosen parts (all by default) into a tenant state, keeping only the items `keep` accepts (all by default). */
  async read(key: TenantKey, manifest: Manifest, only?: ReadonlySet<Part>, keep?: (part: Part, item: unknown) => boolean): Promise<DirectoryState> {
    const objects = Object.fromEntries(ENTITY_KINDS.map((k) => [k, []])) as unknown as Record<EntityKind, unknown[]>;
    const links: LinkSet[] = [];
    const deleted: DeletedObject[] = [];
    for await (const { part, items } of this.parts(key, manifest, only)) {
      const into: unknown[] = part === 'links' ? links : part === 'deleted' ? deleted : objects[part];
      for await (const item of items) if (keep === undefined || keep(part, item)) into.push(item);
    }
    return { tenantId: manifest.tenantId, objects: objects as unknown as DirectoryState['objects'], links, deleted };
  }
}

/** Parts stored back to back in one object, so one ranged read serves both. */
function adjacent(a: ManifestPart, b: ManifestPart): boolean {
  return a.offset !== undefined && b.offset !== undefined && a.object === b.object && b.offset === a.offset + a.bytes;
}

function altered(manifest: Manifest, p: ManifestPart): ProviderFailure {
  return new ProviderFailure(failure('DataTampered', `Part ${p.part} of snapshot ${manifest.id} is missing or altered in storage.`));
}

/** A run of parts with no bytes at all (only an altered manifest says so): nothing to read, and its hash check fails. */
async function* emptySource(): AsyncGenerator<Uint8Array> {}
