#!/usr/bin/env node
// Brings a fresh machine to the point where `pnpm` commands work: pnpm itself (corepack
// fails on registry signatures here, so npm installs it), the workspace's packages, and
// the cached LocalStack venv (skipped when LOCALSTACK_ENDPOINT points at a running one).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const wanted = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).packageManager.split('@')[1];

function sh(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (res.status !== 0) {
    console.error(`bootstrap: '${cmd} ${args.join(' ')}' failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status ?? 1);
  }
}

let have = '';
try {
  have = execFileSync('pnpm', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  /* not installed */
}
if (have !== wanted) {
  console.log(`bootstrap: installing pnpm ${wanted} (found ${have || 'none'})`);
  sh('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${wanted}`]);
}
sh('pnpm', ['install', '--frozen-lockfile', '--reporter=append-only']);
if (!process.env.LOCALSTACK_ENDPOINT) sh('pnpm', ['exec', 'ekm-localstack', 'ensure']);
