/**
 * A provider the suite must catch: an implementation of `ekm.provider/v1` that breaks two
 * documented rules on purpose and keeps the others, reached through the same protocol as any
 * provider. It reuses the reference provider for what it does right and answers on its own
 * where it is wrong:
 * - EKM-02: the console never shows the provider's AWS account id, so a customer cannot write
 *   the key policy;
 * - EKM-09: an account with EKM in force "returns" to Cloud Key Management on request.
 */
import { referenceProvider } from '@ekm/backup/conformance';
import type { ProviderBinding, ProviderSession } from '@ekm/protocol';

export const LEAKY_BREAKS = ['EKM-02', 'EKM-09'] as const;

export function leakyProvider(): ProviderBinding {
  const reference = referenceProvider();
  return {
    info: { ...reference.info, name: 'leaky-provider', version: '0.0.1' },
    async open(environment): Promise<ProviderSession> {
      const inner = await reference.open(environment);
      return {
        ...inner,
        async view(account) {
          const { providerAccountId: _hidden, ...view } = await inner.view(account);
          return view;
        },
        async returnToCloudKms(account) {
          const view = await inner.view(account);
          if (view.externalKeyManagement === 'Enabled' && !view.updateInProgress) return { ok: true, message: 'Cloud Key Management is in force again.' };
          return inner.returnToCloudKms(account);
        },
      };
    },
  };
}
