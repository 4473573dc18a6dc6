#!/usr/bin/env node
// Brings a fresh machine to the point where the workspace's commands work, installing nothing
// outside the work tree but the caches of npm, pnpm and the LocalStack venv:
//   - pnpm, pinned by package.json's packageManager, into .ci/.tools (corepack fails on
//     registry signatures here, so npm installs it; reused offline on later runs);
//   - the workspace's packages (pnpm install --frozen-lockfile);
//   - the compiled `ekm` CLI (apps/cli/dist), and for the test command Debian's Chromium;
//   - LocalStack's venv, only when host mode is what a run would use (`ekm-localstack ensure`
//     decides: LOCALSTACK_ENDPOINT, else a Docker engine that answers, else Python).
// `node .ci/bootstrap.mjs -- <pnpm args>` then runs pnpm with .ci/.tools/bin first on PATH,
// so scripts that call `pnpm` find this one.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tools = join(root, '.ci/.tools');
const toolsBin = join(tools, 'bin');
const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const dash = process.argv.indexOf('--');
const then = dash === -1 ? [] : process.argv.slice(dash + 1);
const env = { ...process.env, PATH: `${toolsBin}${delimiter}${process.env.PATH ?? ''}` };

// Node: 20.19+, 22 and 24 (vite 8 needs ^20.19 || >=22.12).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19) || major === 21 || (major === 22 && minor < 12) || major === 23) {
  console.error(`bootstrap: Node ${process.versions.node} is not supported: use Node 20.19+, 22.12+ or 24`);
  process.exit(1);
}
if (major === 20) {
  // The SDK's own notice is a multi-line warning from every test worker; this line says it once.
  console.log(
    'bootstrap: Node 20 is past its end of life (April 2026); AWS SDK for JavaScript v3 releases after the first week of January 2027 need Node >= 22. The SDK pinned here still runs on 20; use Node 22 or 24 to take later SDK updates.',
  );
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

function sh(cmd, args) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env });
  if (res.status !== 0) {
    console.error(`bootstrap: '${cmd} ${args.join(' ')}' failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status ?? 1);
  }
}

const pnpm = join(toolsBin, 'pnpm');
let have = '';
if (existsSync(pnpm)) {
  try {
    have = execFileSync(pnpm, ['--version'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* a broken install: reinstalled below */
  }
}
if (have !== wanted) {
  console.log(`bootstrap: installing pnpm ${wanted} into .ci/.tools (found ${have || 'none'})`);
  sh('npm', ['install', '--global', '--prefix', tools, '--no-fund', '--no-audit', '--loglevel=error', `pnpm@${wanted}`]);
}
sh(pnpm, ['install', '--frozen-lockfile', '--reporter=append-only']);
sh(pnpm, ['exec', 'ekm-localstack', 'ensure']);
// The `ekm` bins run compiled JavaScript (apps/cli/dist) so that start-up is Node's own; they
// fall back to the sources whenever those are newer, so a stale build is never run.
sh(pnpm, ['--filter', '@ekm/cli', 'run', 'build']);
// The report's browser test (part of the test command) drives Debian's Chromium.
if (then.includes('test:all')) sh(process.execPath, ['packages/scenario-runner/test/browser/ensure-chromium.mjs']);
if (then.length) {
  const res = spawnSync(pnpm, then, { stdio: 'inherit', cwd: root, env });
  process.exit(res.status ?? 1);
}
