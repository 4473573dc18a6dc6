// The test layout every package shares: unit tests beside the code (`*.test.ts`), and tests
// that need LocalStack (`*.int.test.ts`) in a project of their own, with one LocalStack for
// the whole run from @ekm/localstack's globalSetup (which honours LOCALSTACK_ENDPOINT).
// Timeouts are sized for CI: 2 cores running every package's tests at once, 1,000 runs a property.
import { createRequire } from 'node:module';

const UNIT = { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: ['src/**/*.int.test.ts', 'test/**/*.int.test.ts'], testTimeout: 120_000 };

/**
 * @param {string} configUrl the calling config's import.meta.url, to find @ekm/localstack from its package
 * @param {{ int?: boolean, intTimeout?: number }} [options]
 */
export function testProjects(configUrl, options = {}) {
  if (options.int === false) return { test: UNIT };
  const globalSetup = createRequire(configUrl).resolve('@ekm/localstack/vitest-setup');
  return {
    test: {
      projects: [
        { test: { name: 'unit', ...UNIT } },
        {
          test: {
            name: 'int',
            include: ['src/**/*.int.test.ts', 'test/**/*.int.test.ts'],
            globalSetup: [globalSetup],
            testTimeout: options.intTimeout ?? 120_000,
            hookTimeout: 300_000,
          },
        },
      ],
    },
  };
}
