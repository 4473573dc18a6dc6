import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { LocalStackStartError } from './errors.ts';
import { requirementsFile, venvDir } from './paths.ts';

const run = promisify(execFile);

export interface VenvInfo {
  dir: string;
  python: string;
  created: boolean;
  ms: number;
}

/** Finds a Python >= 3.10 (LocalStack 4.10.0's KMS runs on 3.10 and 3.11). */
export async function findPython(env = process.env): Promise<string> {
  const candidates = [env.EKM_PYTHON, 'python3.11', 'python3.10', 'python3', 'python'].filter(Boolean) as string[];
  const tried: string[] = [];
  for (const cmd of candidates) {
    try {
      const { stdout } = await run(cmd, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { timeout: 10_000, env });
      const [major, minor] = stdout.trim().split('.').map(Number);
      if (major === 3 && (minor ?? 0) >= 10) return cmd;
      tried.push(`${cmd} is ${stdout.trim()}`);
    } catch {
      tried.push(`${cmd} not found`);
    }
  }
  throw new LocalStackStartError(
    'host',
    'python',
    `no Python >= 3.10 found (${tried.join('; ')})`,
    'install Python 3.10 or 3.11 (or set EKM_PYTHON to one), or use Docker (--localstack docker) or an existing LocalStack (LOCALSTACK_ENDPOINT)',
  );
}

const READY_MARK = '.ekm-ready';

/**
 * Creates the pinned venv once, in the cache folder, and reuses it. It is built beside its
 * final place and renamed into it, so an interrupted install never leaves a venv that looks ready.
 */
export async function ensureVenv(env = process.env): Promise<VenvInfo> {
  const dir = venvDir(env);
  const python = join(dir, 'bin', 'python');
  const started = performance.now();
  if (existsSync(join(dir, READY_MARK))) return { dir, python, created: false, ms: performance.now() - started };

  mkdirSync(dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  await acquire(lock);
  try {
    if (existsSync(join(dir, READY_MARK))) return { dir, python, created: false, ms: performance.now() - started };
    const building = `${dir}.building-${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    const base = await findPython(env);
    try {
      await run(base, ['-m', 'venv', building], { timeout: 120_000, env });
      await run(join(building, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', '-r', requirementsFile], {
        timeout: 900_000,
        env,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      rmSync(building, { recursive: true, force: true });
      const e = error as { stderr?: string; message: string };
      throw new LocalStackStartError(
        'host',
        'venv',
        `creating the LocalStack venv failed: ${e.message.split('\n')[0]}`,
        `check that PyPI is reachable and ${base} can create venvs (Debian: apt-get install python3-venv); the pins are in ${requirementsFile}`,
        tail(e.stderr ?? ''),
      );
    }
    writeFileSync(join(building, READY_MARK), readFileSync(requirementsFile));
    rmSync(dir, { recursive: true, force: true });
    renameSync(building, dir);
    return { dir, python, created: true, ms: performance.now() - started };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A lock folder (mkdir is atomic); a stale one from a killed process is taken over after 20 minutes. */
async function acquire(lock: string): Promise<void> {
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone meanwhile */
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The last lines of a log, each cut to a readable length (pip lists every version it knows on one line). */
export function tail(text: string, lines = 20, width = 400): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => (l.length > width ? `${l.slice(0, width)}... (${l.length - width} more characters)` : l))
    .join('\n');
}
