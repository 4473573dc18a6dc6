#!/usr/bin/env node
// The workspace runs TypeScript directly (no build step): register tsx, then load the CLI.
import { register } from 'tsx/esm/api';

// The AWS SDK is pinned; its notice about Node 20 concerns later releases and would only bury the run's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../src/main.ts');
