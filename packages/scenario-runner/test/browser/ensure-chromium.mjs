#!/usr/bin/env node
/**
 * Makes sure the HTML report's browser test (report.browser.test.ts) has a Chromium: prints
 * the one it finds, else installs Debian's `chromium` with apt-get (root only), else fails
 * saying what to do. Looks where chromium.ts looks, in the same order.
 *   node packages/scenario-runner/test/browser/ensure-chromium.mjs
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const FIXED = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const NAMES = ['chromium', 'chromium-browser'];

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function find() {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) {
    if (!executable(explicit)) fail(`CHROMIUM_PATH is ${explicit}, which is not an executable file: unset it or point it at Chromium`);
    return explicit;
  }
  for (const path of FIXED) if (executable(path)) return path;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of NAMES) if (executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function fail(message) {
  console.error(`ensure-chromium: ${message}`);
  process.exit(1);
}

function run(command, args) {
  console.log(`ensure-chromium: ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error) fail(`${command} could not start: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

const found = find();
if (found) {
  console.log(`ensure-chromium: Chromium found at ${found}`);
  process.exit(0);
}
console.log('ensure-chromium: no Chromium found (CHROMIUM_PATH, /usr/bin/chromium, /usr/bin/chromium-browser, PATH)');
if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) {
  fail('this machine has no apt-get: install Chromium with its package manager and set CHROMIUM_PATH to it');
}
if (process.getuid?.() !== 0) {
  fail('not running as root: run `sudo apt-get update && sudo apt-get install -y chromium`, or set CHROMIUM_PATH to a Chromium executable');
}
run('apt-get', ['update']);
run('apt-get', ['install', '-y', 'chromium']);
const installed = find();
if (!installed) fail('apt-get installed chromium, but no executable appeared at /usr/bin/chromium');
console.log(`ensure-chromium: Chromium installed at ${installed}`);
