import { describe, expect, it } from 'vitest';
import { generateTenant } from '@ekm/entra-mock';
import { ProviderFailure, TenantKeys, MemoryJournal } from '@ekm/kms';
import { MemoryKms } from '@ekm/kms/testing';
import { MemoryBucket } from '../src/bucket.ts';
import { newSnapshotId, PARTS, SnapshotStore } from '../src/snapshots.ts';

async function setup() {
  const kms = new MemoryKms();
  const arn = kms.createKey();
  const keys = new TenantKeys(kms, new MemoryJournal());
  const state = generateTenant({ seed: 7, users: 25, referenceDate: new Date('2026-01-01T00:00:00Z') });
  await keys.create(state.tenantId, arn);
  const bucket = new MemoryBucket();
  const store = new SnapshotStore(bucket);
  const key = await keys.unwrap(state.tenantId);
  const id = newSnapshotId(new Date('2026-02-01T00:00:00Z'));
  const meta = {
    id,
    accountId: 'a1',
    tenantId: state.tenantId,
    workflow: 'manualBackup' as const,
    createdAt: '2026-02-01T00:00:00.000Z',
    keyArn: arn,
    cloudKeyManagement: false,
  };
  return { kms, arn, keys, state, bucket, store, key, meta };
}

describe('SnapshotStore', () => {
  it('writes data first and the manifest last; reading gives the tenant back', async () => {
    const { state, bucket, store, key, meta } = await setup();
    const order: string[] = [];
    const manifest = await store.write(key, state, meta, {
      afterDataWritten: async (s) => {
        order.push('data');
        expect(await store.list('a1', state.tenantId)).toEqual([]);
        expect((await bucket.list('snapshots/')).length).toBe(s.objects.length);
      },
      beforeCommit: () => void order.push('commit'),
    });
    expect(order).toEqual(['data', 'commit']);
    expect(manifest).toMatchObject({ keyArn: meta.keyArn, tenantKeyVersion: 1 });
    expect(await store.list('a1', state.tenantId)).toEqual([manifest]);
    expect(await store.read(key, manifest)).toEqual(state);
    expect(await store.orphans('a1', state.tenantId)).toEqual([]);
  });

  it('a failure between data and manifest leaves orphans and no listed snapshot', async () => {
    const { state, store, key, meta } = await setup();
    await expect(
      store.write(key, state, meta, {
        beforeCommit: () => {
          throw new Error('crash');
        },
      }),
    ).rejects.toThrow('crash');
    expect(await store.list('a1', state.tenantId)).toEqual([]);
    const orphans = await store.orphans('a1', state.tenantId);
    expect(orphans.length).toBeGreaterThan(0);
    // A backup still running is not an orphan.
    expect(await store.orphans('a1', state.tenantId, new Set([meta.id]))).toEqual([]);
    await store.deleteObjects(orphans);
    expect(await store.orphans('a1', state.tenantId)).toEqual([]);
  });

  it('[EKM-20] refuses altered data and a key of another tenant with DataTampered', async () => {
    const { kms, arn, state, bucket, store, key, meta } = await setup();
    const manifest = await store.write(key, state, meta);
    const part = manifest.parts.find((x) => x.part === 'user')!;
    const stored = (await bucket.get(part.object))!;
    const altered = Uint8Array.from(stored.body);
    altered[altered.length - 40] = altered[altered.length - 40]! ^ 1;
    await bucket.put(part.object, altered);
    const err = await store.read(key, manifest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderFailure);
    expect((err as ProviderFailure).code).toBe('DataTampered');

    const other = new TenantKeys(kms, new MemoryJournal());
    await other.create('someone-else', arn);
    const otherKey = await other.unwrap('someone-else');
    await bucket.put(part.object, stored.body);
    const err2 = await store.read(otherKey, manifest).catch((e: unknown) => e);
    expect((err2 as ProviderFailure).code).toBe('DataTampered');
  });
});

describe('SnapshotStore, streamed', () => {
  it('a tenant read part by part is stored exactly as the same tenant written from memory', async () => {
    const { state, store, key, meta } = await setup();
    const fromState = await store.write(key, state, meta);
    async function* parts() {
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
    const other = { ...meta, id: newSnapshotId(new Date('2026-02-02T00:00:00Z')) };
    const streamed = await store.write(key, parts(), other);
    expect(streamed.parts.map((p) => [p.part, p.items])).toEqual(fromState.parts.map((p) => [p.part, p.items]));
    expect(await store.read(key, streamed)).toEqual(state);
  });

  it('a read that fails mid-part stores no data object (the parts before it share it), reaches no later hook and commits nothing', async () => {
    const { state, bucket, store, key, meta } = await setup();
    const reached: string[] = [];
    async function* parts() {
      yield {
        part: 'user' as const,
        items: (async function* () {
          yield* state.objects.user;
        })(),
      };
      yield {
        part: 'group' as const,
        items: (async function* () {
          yield state.objects.group[0]!;
          throw new Error('Graph gone');
        })(),
      };
    }
    await expect(store.write(key, parts(), meta, { afterDataWritten: () => void reached.push('afterDataWritten') })).rejects.toThrow('Graph gone');
    expect(reached).toEqual([]);
    expect(await store.list('a1', state.tenantId)).toEqual([]);
    expect(await bucket.list('snapshots/')).toEqual([]);
  });
});
