/** For this package's tests: the failure code a KMS operation ends with, `none` when it succeeds. */
import { KmsError } from './classify.ts';

export async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof KmsError) return error.code;
    throw error;
  }
  return 'none';
}
