// The runner's pure parts (anchors, arguments, verdicts, closing line), without LocalStack:
// pnpm exec vitest run --config mutants/vitest.config.mjs
import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { name: 'mutants', root: import.meta.dirname, include: ['*.test.mjs'] } });
