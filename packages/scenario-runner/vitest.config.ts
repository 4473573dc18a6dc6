import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// Fuzz properties run hundreds of cases; on a shared 2-core machine the default 5 s is too tight.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: ['src/**/*.int.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'int',
          include: ['src/**/*.int.test.ts'],
          // One LocalStack for the run, started (or found) by @ekm/localstack.
          globalSetup: [require.resolve('@ekm/localstack/vitest-setup')],
          testTimeout: 600_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
