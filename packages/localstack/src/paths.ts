import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LOCALSTACK_VERSION = '4.10.0';
export const LOCALSTACK_IMAGE = `localstack/localstack:${LOCALSTACK_VERSION}`;

/**
 * The repository root: the nearest folder above this module with pnpm-workspace.yaml. Found,
 * not assumed three levels up, so the compiled CLI (apps/cli/dist) finds the same files.
 */
function findRepoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) return fileURLToPath(new URL('../../../', import.meta.url));
  }
}
const repoRoot = findRepoRoot();
export const requirementsFile = join(repoRoot, 'docker/localstack-host/requirements.lock.txt');
export const launcherFile = join(repoRoot, 'packages/localstack/python/run_localstack.py');

/** The user's cache folder: reused across runs, never inside the work tree. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EKM_CACHE_DIR) return env.EKM_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'ekm-conformance');
}

/** The venv's name carries a hash of the lock, so a changed pin gets a fresh venv. */
export function venvDir(env: NodeJS.ProcessEnv = process.env, lockText = readFileSync(requirementsFile, 'utf8')): string {
  const hash = createHash('sha256').update(lockText).digest('hex').slice(0, 12);
  return join(cacheRoot(env), `localstack-${LOCALSTACK_VERSION}-${hash}`);
}

/**
 * LocalStack's own state (the service-catalog cache, ~4 s to build on first call) is kept
 * between runs; the S3 object store goes to a per-run TMPDIR that is removed on stop.
 */
export function filesystemRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), `localstack-${LOCALSTACK_VERSION}-fsroot`);
}
