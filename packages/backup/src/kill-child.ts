/**
 * A provider process that dies by SIGKILL in the middle of a backup, at the crash point
 * named in EKM_KILL_AT. Started by backup-kill.int.test.ts; never used by the provider.
 */
import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import { Provider, type ProviderOptions } from './provider.ts';

interface ChildInput {
  readonly options: ProviderOptions;
  readonly accountId: string;
  readonly tenant: { seed: number; users: number; referenceDate: string; clientId: string; clientSecret: string };
  readonly killAt: 'afterDataWritten' | 'beforeCommit';
}

const input = JSON.parse(process.env['EKM_KILL_CHILD'] ?? '{}') as ChildInput;
const t = input.tenant;
const graph = createGraphServer([
  createMockTenant(generateTenant({ seed: t.seed, users: t.users, referenceDate: new Date(t.referenceDate) }), { clientId: t.clientId, clientSecret: t.clientSecret }),
]);
graph.listen();
const die = () => {
  process.kill(process.pid, 'SIGKILL');
};
const provider = await Provider.open({ ...input.options, hooks: { [input.killAt]: die } });
await provider.backup(input.accountId);
// Reaching this line means the crash point was never hit.
process.exit(3);
