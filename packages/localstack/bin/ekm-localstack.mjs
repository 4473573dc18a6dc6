#!/usr/bin/env node
// tsx would keep a compile cache in the system temp folder; a run leaves nothing behind.
process.env.TSX_DISABLE_CACHE ??= '1';
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli.ts');
