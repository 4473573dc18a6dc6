/** `ekm --version`: the harness version, the protocol it speaks, and the commit it was run from when known. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL } from '@ekm/protocol';

// The compiled CLI has this folder written in at build time (build.mjs `define`): it may run from elsewhere.
const root = process.env.EKM_CLI_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };

export const HARNESS = { name: 'ekm-conformance', version: pkg.version } as const;

let commit: string | null | undefined;
/** The checkout's commit, or undefined outside a git checkout (a copied bundle, an installed package). */
export function gitCommit(): string | undefined {
  if (commit === undefined) {
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim() || null;
    } catch {
      commit = null;
    }
  }
  return commit ?? undefined;
}

export function version(): string {
  const c = gitCommit();
  return `ekm ${HARNESS.version} (${PROTOCOL}${c === undefined ? '' : `, commit ${c.slice(0, 12)}`})`;
}
