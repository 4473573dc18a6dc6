#!/usr/bin/env node
// Runs the compiled CLI (dist/, from build.mjs) when it is newer than every source file it was
// built from, so start-up is Node's own; otherwise (a fresh checkout, or sources edited since)
// it runs the TypeScript sources through tsx. Tests keep running the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The AWS SDK is pinned; its notice about Node 20 concerns later releases and would only bury the run's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
// EKM_DIST_DIR: another build to run (the build's own test uses one in a temporary folder).
const dist = process.env.EKM_DIST_DIR ?? join(app, 'dist');
const built = join(dist, '.built');

/** Newest modification time of the TypeScript sources in apps/cli/src and packages/<name>/src. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') || entry.name.endsWith('.json')) newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  const root = dirname(dirname(app));
  walk(join(app, 'src'));
  for (const pkg of readdirSync(join(root, 'packages'))) {
    for (const sub of ['src', 'conformance']) if (existsSync(join(root, 'packages', pkg, sub))) walk(join(root, 'packages', pkg, sub));
  }
  return newest;
}

if (process.env.EKM_FROM_SOURCES !== '1' && existsSync(built) && statSync(built).mtimeMs >= newestSource()) {
  if (process.env.EKM_REPORT_BIN === '1') process.stderr.write('ekm: running apps/cli/dist\n');
  await import(pathToFileURL(join(dist, 'ekm.js')).href);
} else {
  if (process.env.EKM_REPORT_BIN === '1') process.stderr.write('ekm: running the sources\n');
  // tsx would keep a compile cache in the system temp folder; a run leaves nothing behind.
  process.env.TSX_DISABLE_CACHE ??= '1';
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
