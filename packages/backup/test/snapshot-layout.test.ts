/**
 * The stored layout of a snapshot (format 2) and what reading it costs in requests: one data
 * object and a manifest per backup, one read per whole restore, manifests read once while
 * their ETag stays the same. Each S3 request is a cost on both sides (the SDK and LocalStack),
 * so these counts are what the suite's speed rests on (issue 19).
 */
import { describe, expect, it } from 'vitest';
import { generateTenant } from '@ekm/entra-mock';
import { MemoryJournal, ProviderFailure, TenantKeys } from '@ekm/kms';
import { MemoryKms } from '@ekm/kms/testing';
import { type ByteRange, MemoryBucket, type StoredObject } from '../src/bucket.ts';
import { type Manifest, newSnapshotId, PARTS, SnapshotStore } from '../src/snapshots.ts';

/** Counts every request by kind, as S3 would bill them. */
class RequestCountingBucket extends MemoryBucket {
  readonly requests: string[] = [];
  override async get(key: string): Promise<StoredObject | undefined> {
    this.requests.push(`get ${key.split('/').at(-1)}`);
    return super.get(key);
  }
  override async getStream(key: string, range?: ByteRange) {
    this.requests.push(`getStream ${key.split('/').at(-1)}${range === undefined ? '' : ` ${range.start}-${range.end}`}`);
    return super.getStream(key, range);
  }
  override async put(key: string, body: Uint8Array | string, condition?: { ifNoneMatch?: '*'; ifMatch?: string }) {
    this.requests.push(`put ${key.split('/').at(-1)}`);
    return super.put(key, body, condition);
  }
  override async entries(prefix: string) {
    this.requests.push('list');
    return super.entries(prefix);
  }
}

async function setup() {
  const kms = new MemoryKms();
  const arn = kms.createKey();
  const keys = new TenantKeys(kms, new MemoryJournal());
  const state = generateTenant({ seed: 11, users: 30, referenceDate: new Date('2026-01-01T00:00:00Z') });
  await keys.create(state.tenantId, arn);
  const bucket = new RequestCountingBucket();
  const store = new SnapshotStore(bucket);
  const key = await keys.unwrap(state.tenantId);
  const meta = (day: number) => ({
    id: newSnapshotId(new Date(`2026-02-0${day}T00:00:00Z`)),
    accountId: 'a1',
    tenantId: state.tenantId,
    workflow: 'manualBackup' as const,
    createdAt: `2026-02-0${day}T00:00:00.000Z`,
    keyArn: arn,
    cloudKeyManagement: false,
  });
  return { state, bucket, store, key, meta };
}

describe('snapshot layout (format 2)', () => {
  it('a backup is two writes: every part back to back in one data object, then the manifest', async () => {
    const { state, bucket, store, key, meta } = await setup();
    const manifest = await store.write(key, state, meta(1));
    expect(bucket.requests).toEqual(['put data.enc', 'put manifest.json']);
    expect(manifest.format).toBe(2);
    expect(manifest.parts.map((p) => p.part)).toEqual([...PARTS]);
    expect(new Set(manifest.parts.map((p) => p.object)).size).toBe(1);
    // Offsets tile the object exactly, in the stored order.
    let at = 0;
    for (const p of manifest.parts) {
      expect(p.offset).toBe(at);
      at += p.bytes;
    }
    expect((await bucket.get(manifest.parts[0]!.object))!.body.length).toBe(at);
  });

  it('a whole snapshot is read in one request; chosen parts in one ranged request per run of adjacent parts', async () => {
    const { state, bucket, store, key, meta } = await setup();
    const manifest = await store.write(key, state, meta(1));
    bucket.requests.length = 0;
    expect(await store.read(key, manifest)).toEqual(state);
    const last = manifest.parts.at(-1)!;
    expect(bucket.requests).toEqual([`getStream data.enc 0-${last.offset! + last.bytes - 1}`]);

    bucket.requests.length = 0;
    const [user, group] = manifest.parts;
    const device = manifest.parts.find((p) => p.part === 'device')!;
    const read = await store.read(key, manifest, new Set(['user', 'group', 'device']));
    expect(read.objects.user).toEqual(state.objects.user);
    expect(read.objects.device).toEqual(state.objects.device);
    expect(read.objects.application).toEqual([]);
    expect(bucket.requests).toEqual([
      `getStream data.enc ${user!.offset}-${group!.offset! + group!.bytes - 1}`,
      `getStream data.enc ${device.offset}-${device.offset! + device.bytes - 1}`,
    ]);
  });

  it('a listing reads each manifest once, and again only when its ETag changed in storage', async () => {
    const { state, bucket, store, key, meta } = await setup();
    const first = await store.write(key, state, meta(1));
    await store.write(key, state, meta(2));
    bucket.requests.length = 0;
    expect((await store.list('a1', state.tenantId)).map((m) => m.id)).toHaveLength(2);
    expect(bucket.requests).toEqual(['list', 'get manifest.json', 'get manifest.json']);
    bucket.requests.length = 0;
    await store.list('a1', state.tenantId);
    expect(bucket.requests).toEqual(['list']);

    // Rewritten in storage (an attacker, or the tamper capability): the new content is what is listed.
    const manifestKey = first.parts[0]!.object.replace(/[^/]+$/, 'manifest.json');
    const rewritten: Manifest = { ...first, keyArn: 'arn:aws:kms:us-east-1:000000000000:key/rewritten' };
    await bucket.put(manifestKey, JSON.stringify(rewritten));
    bucket.requests.length = 0;
    const listed = await store.list('a1', state.tenantId);
    expect(listed.find((m) => m.id === first.id)!.keyArn).toBe(rewritten.keyArn);
    expect(bucket.requests).toEqual(['list', 'get manifest.json']);
  });

  it('[EKM-20] a data object cut short is refused as DataTampered, whichever part the cut reaches', async () => {
    const { state, bucket, store, key, meta } = await setup();
    const manifest = await store.write(key, state, meta(1));
    const object = manifest.parts[0]!.object;
    const whole = (await bucket.get(object))!.body;
    const group = manifest.parts.find((p) => p.part === 'group')!;
    // Cut inside the group part: the user part before it still verifies, the group part does not.
    await bucket.put(object, whole.subarray(0, group.offset! + 10));
    const err = await store.read(key, manifest).catch((e: unknown) => e);
    expect((err as ProviderFailure).code).toBe('DataTampered');
    expect((err as ProviderFailure).message).toContain('Part group');
    // A read that starts past the end (the application part) is refused the same way.
    const err2 = await store.read(key, manifest, new Set(['application'])).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ProviderFailure);
    expect((err2 as ProviderFailure).code).toBe('DataTampered');
  });

  it('storage failing mid-read is said as itself, not as the data altered (regression: a connection lost mid-download was DataTampered)', async () => {
    const { state, bucket, store, key, meta } = await setup();
    const manifest = await store.write(key, state, meta(1));
    bucket.readChunk = 1024;
    const failing = Object.assign(Object.create(Object.getPrototypeOf(bucket)) as RequestCountingBucket, bucket);
    const lost = new Error('aborted');
    failing.getStream = async (k: string, range?: ByteRange) => {
      const inner = (await bucket.getStream(k, range))!;
      return (async function* () {
        let n = 0;
        for await (const c of inner) {
          if (n++ === 3) throw lost;
          yield c;
        }
      })();
    };
    const err = await new SnapshotStore(failing).read(key, manifest).catch((e: unknown) => e);
    expect(err).toBe(lost);
  });

  it('a format-1 snapshot (one object per part) is still read', async () => {
    const { state, bucket, store, key, meta } = await setup();
    const manifest = await store.write(key, state, meta(1));
    // Rewritten as format 1 would have stored it: each part's bytes in an object of its own.
    const whole = (await bucket.get(manifest.parts[0]!.object))!.body;
    const parts = [];
    for (const p of manifest.parts) {
      const object = p.object.replace(/[^/]+$/, `${p.part}.enc`);
      await bucket.put(object, whole.subarray(p.offset!, p.offset! + p.bytes));
      const { offset: _, ...rest } = p;
      parts.push({ ...rest, object });
    }
    const v1: Manifest = { ...manifest, format: 1, parts };
    bucket.requests.length = 0;
    expect(await store.read(key, v1)).toEqual(state);
    expect(bucket.requests).toHaveLength(PARTS.length);
  });
});
