import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { failure } from '@ekm/domain';
import { ProviderFailure } from './failure-error.ts';
import { MemoryJournal, TenantKeys, unwrapTenantKey, type TenantKeyEntry, type TenantKeyJournal } from './hierarchy.ts';
import { MemoryKms } from '../testing/memory-kms.ts';
import { codeOf } from '../testing/index.ts';

const material = async (keys: TenantKeys, tenant: string) => {
  const key = await keys.unwrap(tenant);
  try {
    return key.reveal((b) => Buffer.from(b).toString('hex'));
  } finally {
    key.drop();
  }
};

function world() {
  const kms = new MemoryKms('999988887777');
  const provider = kms.createKey();
  const a = kms.createKey('111122223333');
  const b = kms.createKey('111122223333');
  const journal = new MemoryJournal();
  return { kms, provider, a, b, journal, keys: new TenantKeys(kms, journal) };
}

describe('tenant-key hierarchy', () => {
  it('[EKM-08] creates the tenant key under the provider key and moves it under the customer key, same material', async () => {
    const { kms, provider, a, keys } = world();
    const created = await keys.create('t-1', provider);
    expect(created).toMatchObject({ keyArn: provider, version: 1 });
    expect(JSON.stringify(created)).not.toMatch(/plaintext/i);
    const before = await material(keys, 't-1');
    await keys.rewrap('t-1', a);
    expect((await keys.inForce('t-1')).keyArn).toBe(a);
    expect(await material(keys, 't-1')).toBe(before);
    const unwrapped = await keys.unwrap('t-1');
    expect([unwrapped.keyArn, unwrapped.version, unwrapped.tenant]).toEqual([a, 1, 't-1']);
    unwrapped.drop();
    kms.setState(provider, 'Disabled');
    expect(await material(keys, 't-1')).toBe(before);
  });

  it('[EKM-20] every KMS call carries {tenant, purpose}; unwrap is one Decrypt', async () => {
    const { kms, provider, keys } = world();
    await keys.create('t-1', provider);
    kms.calls.length = 0;
    (await keys.unwrap('t-1')).drop();
    expect(kms.calls).toEqual([{ operation: 'Decrypt', keyArn: provider, context: { tenant: 't-1', purpose: 'tenant-key' } }]);
  });

  it("[EKM-20] t-1's wrapped tenant key cannot be unwrapped as t-2", async () => {
    const { kms, provider, keys } = world();
    const wrapped = await keys.create('t-1', provider);
    expect(await codeOf(() => unwrapTenantKey(kms, 't-2', wrapped))).toBe('DataTampered');
  });

  it('[EKM-16] after a completed update from A to B, A can be disabled and the tenant key still unwraps', async () => {
    const { kms, provider, a, b, keys } = world();
    await keys.create('t-1', provider);
    await keys.rewrap('t-1', a);
    const before = await material(keys, 't-1');
    await keys.rewrap('t-1', b);
    kms.setState(a, 'Disabled');
    expect(await material(keys, 't-1')).toBe(before);
  });

  it('[EKM-16] falls back to Decrypt + Encrypt when the key policies do not allow ReEncrypt', async () => {
    const { kms, provider, a, b, keys } = world();
    await keys.create('t-1', provider);
    await keys.rewrap('t-1', a);
    kms.denyReEncrypt(a);
    kms.calls.length = 0;
    await keys.rewrap('t-1', b);
    expect(kms.calls.map((c) => c.operation)).toEqual(['ReEncrypt', 'Decrypt', 'Encrypt', 'Decrypt']);
    expect((await keys.inForce('t-1')).keyArn).toBe(b);
  });

  it.each(['Disabled', 'PendingDeletion'] as const)(
    '[EKM-15] an update with the old key already %s fails with UpdateNeedsOldKey and leaves the old key in force',
    async (state) => {
      const { kms, provider, a, b, keys } = world();
      await keys.create('t-1', provider);
      await keys.rewrap('t-1', a);
      kms.setState(a, state);
      const entry = await keys.entry('t-1');
      try {
        await keys.rewrap('t-1', b);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ProviderFailure);
        expect((error as ProviderFailure).failure).toMatchObject({ code: 'UpdateNeedsOldKey', field: a });
        expect((error as ProviderFailure).failure.message).toContain(`The old key ${a} can no longer be used`);
      }
      expect(await keys.entry('t-1')).toEqual(entry);
      kms.setState(a, 'Enabled');
      expect((await keys.inForce('t-1')).keyArn).toBe(a);
      await keys.rewrap('t-1', b);
    },
  );

  it('[EKM-14] a new key that cannot be used fails the update with its own reason, old key stays in force', async () => {
    const { kms, provider, a, b, keys } = world();
    await keys.create('t-1', provider);
    await keys.rewrap('t-1', a);
    kms.setState(b, 'Disabled');
    expect(await codeOf(() => keys.rewrap('t-1', b))).toBe('KeyDisabled');
    expect((await keys.inForce('t-1')).keyArn).toBe(a);
  });

  it('refuses SameKey and a second update while one is pending', async () => {
    const { provider, a, b, keys, journal } = world();
    await keys.create('t-1', provider);
    expect(await codeOf(() => keys.rewrap('t-1', provider))).toBe('SameKey');
    const entry = (await journal.read('t-1'))!;
    await journal.write({ ...entry, revision: entry.revision + 1, pending: { ...entry.inForce, keyArn: a } });
    expect(await codeOf(() => keys.rewrap('t-1', b))).toBe('UpdateInProgress');
    await keys.abandon('t-1');
    await keys.rewrap('t-1', b);
  });

  it('a transient KMS failure during the update is reported as such, not as UpdateNeedsOldKey', async () => {
    const { kms, provider, a, keys } = world();
    await keys.create('t-1', provider);
    kms.faults.push(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    expect(await codeOf(() => keys.rewrap('t-1', a))).toBe('KmsThrottled');
    expect((await keys.inForce('t-1')).keyArn).toBe(provider);
  });

  it('[EKM-15] [EKM-16] a crash at any point of an update leaves the old or the new wrapping in force, never neither (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 3 }), fc.boolean(), async (crashAtWrite, reEncryptAllowed) => {
        const { kms, provider, a, b, journal } = world();
        const setup = new TenantKeys(kms, journal);
        await setup.create('t-1', provider);
        await setup.rewrap('t-1', a);
        const before = await material(setup, 't-1');
        if (!reEncryptAllowed) kms.denyReEncrypt(a);

        const crashing = new CrashingJournal(journal, crashAtWrite);
        await new TenantKeys(kms, crashing).rewrap('t-1', b).catch((e: unknown) => {
          if (!(e instanceof ProviderFailure && e.code === 'KmsUnavailable')) throw e;
        });

        // After the "restart": whatever is in force unwraps to the same tenant key.
        const after = new TenantKeys(kms, journal);
        const inForce = (await after.inForce('t-1')).keyArn;
        expect([a, b]).toContain(inForce);
        expect(await material(after, 't-1')).toBe(before);
        await after.abandon('t-1');
        if (inForce === a) await after.rewrap('t-1', b);
        kms.setState(a, 'Disabled');
        expect(await material(after, 't-1')).toBe(before);
      }),
      { numRuns: 20 },
    );
  });
});

/** Lets `allowed` writes through, then "crashes" (throws) on every later write. */
class CrashingJournal implements TenantKeyJournal {
  #left: number;
  constructor(
    private readonly inner: TenantKeyJournal,
    allowed: number,
  ) {
    this.#left = allowed;
  }
  read(tenant: string) {
    return this.inner.read(tenant);
  }
  async write(entry: TenantKeyEntry) {
    if (this.#left-- <= 0) throw new ProviderFailure(failure('KmsUnavailable', 'crash'));
    return this.inner.write(entry);
  }
}

describe('a destroyed key', () => {
  it('[EKM-21] replace: with the old key destroyed, a new tenant key (next version) under the new key; the old version is recorded lost and survives later rewraps', async () => {
    const { kms, provider, a, b, journal, keys } = world();
    await keys.create('t-1', provider);
    await keys.rewrap('t-1', a);
    const before = await material(keys, 't-1');
    kms.destroy(a);
    expect(await codeOf(() => keys.unwrap('t-1'))).toBe('KeyDeleted');
    const next = await keys.replace('t-1', b);
    expect(next).toMatchObject({ keyArn: b, version: 2 });
    expect(await material(keys, 't-1')).not.toBe(before);
    expect((await journal.read('t-1'))?.lost).toEqual([{ keyArn: a, version: 1 }]);
    const c = kms.createKey('111122223333');
    await keys.rewrap('t-1', c);
    expect(await journal.read('t-1')).toMatchObject({ inForce: { keyArn: c, version: 2 }, lost: [{ keyArn: a, version: 1 }] });
  });
});
