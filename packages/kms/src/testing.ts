/** For this package's tests: the failure code a KMS operation ends with, `none` when it succeeds. */
import { ProviderFailure } from './failure-error.ts';

export async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ProviderFailure) return error.code;
    throw error;
  }
  return 'none';
}
