import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startLocalStack } from './index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    localstackEndpoint: string;
  }
}

/** vitest globalSetup: one LocalStack for the whole test run, stopped when it ends. */
export default async function setup(project: TestProject) {
  const localstack = await startLocalStack();
  project.provide('localstackEndpoint', localstack.endpoint);
  return async () => localstack.stop();
}
