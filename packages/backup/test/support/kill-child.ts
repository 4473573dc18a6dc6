/**
 * A provider process that dies by SIGKILL in the middle of a backup or a key update, at
 * the crash point named in EKM_KILL_CHILD. Started by the *-kill.int.test.ts files; never
 * used by the provider.
 */
import { createGraphServer, createMockTenant, generateTenant } from '@ekm/entra-mock';
import type { UpdateHooks } from '@ekm/kms';
import { Provider, type ProviderOptions } from '../../src/provider.ts';
import type { BackupHooks } from '../../src/snapshots.ts';

export type BackupKillPoint = keyof BackupHooks;
export type UpdateKillPoint = keyof UpdateHooks;

export type ChildInput =
  | {
      readonly operation: 'backup';
      readonly options: ProviderOptions;
      readonly accountId: string;
      readonly tenant: { seed: number; users: number; referenceDate: string; clientId: string; clientSecret: string };
      readonly killAt: BackupKillPoint;
    }
  | {
      /** updateKey moves the tenant keys to `newArn`; acceptTerms to the ARN already validated. */
      readonly operation: 'updateKey' | 'acceptTerms';
      readonly options: ProviderOptions;
      readonly accountId: string;
      readonly newArn?: string;
      readonly killAt: UpdateKillPoint;
      /** Which move of a tenant key to die in, counting from 1 (a multi-tenant account moves several). Default 1. */
      readonly nth?: number;
    };

const input = JSON.parse(process.env['EKM_KILL_CHILD'] ?? '{}') as ChildInput;
const die = () => {
  process.kill(process.pid, 'SIGKILL');
};

if (input.operation === 'backup') {
  const t = input.tenant;
  const graph = createGraphServer([
    createMockTenant(generateTenant({ seed: t.seed, users: t.users, referenceDate: new Date(t.referenceDate) }), {
      clientId: t.clientId,
      clientSecret: t.clientSecret,
    }),
  ]);
  graph.listen();
  const provider = await Provider.open({ ...input.options, hooks: { [input.killAt]: die } });
  await provider.backup(input.accountId);
} else {
  let seen = 0;
  const nth = input.nth ?? 1;
  const provider = await Provider.open({
    ...input.options,
    updateHooks: {
      [input.killAt]: () => {
        if (++seen === nth) die();
      },
    },
  });
  if (input.operation === 'acceptTerms') await provider.acceptTerms(input.accountId);
  else await provider.updateKey(input.accountId, input.newArn ?? '');
}
// Reaching this line means the crash point was never hit.
process.exit(3);
