import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: ['src/**/*.int.test.ts'] } },
      {
        test: {
          name: 'int',
          include: ['src/**/*.int.test.ts'],
          // One LocalStack for the run, started (or found) by @ekm/localstack; `ekm gateway` is given it as external.
          globalSetup: [require.resolve('@ekm/localstack/vitest-setup')],
          testTimeout: 60_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
