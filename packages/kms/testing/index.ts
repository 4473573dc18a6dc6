/** Test support for @ekm/kms and its users: never imported by a `src` file. */
export { codeOf } from './code-of.ts';
export { MemoryKms } from './memory-kms.ts';

/**
 * LocalStack's (and the KMS gateway's) convention: a 12-digit access key id names the caller's
 * account. Tests and the harness sign with it; production code takes credentials as given.
 */
export function localstackCredentials(account: string): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: account, secretAccessKey: 'test' };
}
