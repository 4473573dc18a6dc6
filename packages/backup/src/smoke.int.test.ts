import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { compareDirectories } from '@ekm/entra-mock';
import { startWorld, type World } from './test-world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld(inject('localstackEndpoint'));
});
afterAll(async () => world?.close());

it('[EKM-08] smoke', async () => {
  const { accountId, customer, tenant } = await world.customerAccount();
  const p = world.provider;
  const before = await p.backup(accountId);
  console.log(JSON.stringify(before).slice(0, 400));
  expect(before.ok).toBe(true);
  expect((await p.activate(accountId)).ok).toBe(true);
  const arn = await customer.createKey();
  const v = await p.submitArn(accountId, arn);
  console.log(v);
  expect(v.ok).toBe(true);
  console.log(await p.showTerms(accountId));
  const acc = await p.acceptTerms(accountId);
  console.log(acc);
  console.log(await p.view(accountId));
  const b = await p.backup(accountId);
  console.log(b.ok, b.kmsCalls);
  const expected = tenant.directory.state();
  const u = expected.objects.user[0]!;
  tenant.directory.update('user', u.id, { displayName: 'changed' });
  const r = await p.restore(accountId);
  console.log(r);
  expect(compareDirectories(expected, tenant.directory.state())).toEqual([]);
});
