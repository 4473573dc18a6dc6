/** `ekm --version`: the harness version, the protocol it speaks, and the commit it was run from when known. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PROTOCOL } from '@ekm/protocol';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export const HARNESS = { name: 'ekm-conformance', version: pkg.version } as const;

let commit: string | null | undefined;
/** The checkout's commit, or undefined outside a git checkout (a copied bundle, an installed package). */
export function gitCommit(): string | undefined {
  if (commit === undefined) {
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: new URL('..', import.meta.url), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim() || null;
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
