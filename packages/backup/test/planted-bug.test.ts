import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import { MemoryKms } from '@ekm/kms/testing';
import { MemoryBucket } from '../src/bucket.ts';
import { Provider, type ProviderOptions } from '../src/provider.ts';
import { staleTenantKeyCache } from '../testing/index.ts';

const graph = createGraphServer();
beforeAll(() => graph.listen());
afterAll(() => graph.close());

async function enabled(extra: Partial<ProviderOptions>) {
  const kms = new MemoryKms('123412341234');
  const provider = await Provider.open({
    accountId: '123412341234',
    keyPort: kms,
    cloudKeyArn: kms.createKey(),
    bucket: new MemoryBucket(),
    graph: { sleep: async () => {} },
    ...extra,
  });
  const t = createMockTenant(generateTenant({ seed: 7, users: 5, referenceDate: new Date('2026-01-01T00:00:00Z') }));
  graph.addTenant(t);
  await provider.addAccount({ accountId: 'acct-1', tenants: [{ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret }] });
  const arn = kms.createKey('555566667777');
  await provider.activate('acct-1');
  await provider.submitArn('acct-1', arn);
  await provider.showTerms('acct-1');
  expect(await provider.acceptTerms('acct-1')).toMatchObject({ ok: true });
  return { kms, provider, arn };
}

describe('the planted bug (staleTenantKeyCache, test support only)', () => {
  it('[EKM-12][EKM-19] without it a disabled key stops the next backup; with it the backup still succeeds', async () => {
    for (const planted of [false, true]) {
      const { kms, provider, arn } = await enabled(planted ? { wrapKeyPort: staleTenantKeyCache } : {});
      expect(await provider.backup('acct-1')).toMatchObject({ ok: true });
      kms.setState(arn, 'Disabled');
      const after = await provider.backup('acct-1');
      expect(after.ok).toBe(planted);
      if (!after.ok) expect(after.failure.code).toBe('KeyDisabled');
    }
  });

  it('sits on the workflows port only: the console still meets the disabled key', async () => {
    const { kms, provider, arn } = await enabled({ wrapKeyPort: staleTenantKeyCache });
    expect(await provider.backup('acct-1')).toMatchObject({ ok: true });
    kms.setState(arn, 'Disabled');
    expect(await provider.updateKey('acct-1', kms.createKey('555566667777'))).toMatchObject({ ok: false, failure: { code: 'UpdateNeedsOldKey' } });
  });
});
