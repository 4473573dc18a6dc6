import { defineConfig } from 'vitest/config';

// Fuzz properties run hundreds of cases; on a shared 2-core machine the default 5 s is too tight.
export default defineConfig({ test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 30_000 } });
