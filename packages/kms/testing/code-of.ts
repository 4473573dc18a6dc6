import { ProviderFailure } from '../src/failure-error.ts';

/** The failure code a KMS operation ends with, `none` when it succeeds. */
export async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ProviderFailure) return error.code;
    throw error;
  }
  return 'none';
}
