#!/usr/bin/env node
// The workspace runs TypeScript directly (no build step): register tsx, then load the CLI.
// The AWS SDK is pinned; its notice about Node 20 concerns later releases and would only bury the run's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// tsx would keep a compile cache in the system temp folder; a run leaves nothing behind.
process.env.TSX_DISABLE_CACHE ??= '1';
const { register } = await import('tsx/esm/api');
register();
await import('../src/main.ts');
