import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStackStartError } from './errors.ts';
import { readHealth, servicesUp } from './health.ts';
import { filesystemRoot, launcherFile } from './paths.ts';
import { ensureVenv, tail } from './venv.ts';

export const SERVICES = ['kms', 's3'] as const;

export interface HostOptions {
  port?: number;
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface HostLocalStack {
  endpoint: string;
  pid: number;
  logFile: string;
  venvCreated: boolean;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
  });
}

/** Started processes and their run folders, for the last-resort cleanup on exit. */
const running = new Map<ChildProcess, string>();
let hooked = false;

/** Kills every LocalStack this process started, whatever way the process ends. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const [child, runDir] of running) {
      killGroup(child, 'SIGKILL');
      rmSync(runDir, { recursive: true, force: true });
    }
    running.clear();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // The application's own handler decides how to end; with none, end as the signal would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

export async function startHost(options: HostOptions = {}): Promise<HostLocalStack> {
  const env = options.env ?? process.env;
  const venv = await ensureVenv(env);
  const port = options.port ?? (await freePort());
  if (options.port !== undefined && (await portTaken(port))) {
    throw new LocalStackStartError('host', 'port', `port ${port} on 127.0.0.1 is already in use`, 'choose another port, or omit it to get a free one');
  }

  const runDir = mkdtempSync(join(tmpdir(), 'ekm-localstack-'));
  const fsRoot = filesystemRoot(env);
  mkdirSync(fsRoot, { recursive: true });
  const logFile = join(runDir, 'localstack.log');
  const log = openSync(logFile, 'a');
  const child = spawn(venv.python, [launcherFile, 'localstack.runtime.main'], {
    detached: true, // own process group, so stop() reaches LocalStack's children too
    stdio: ['ignore', log, log],
    env: {
      PATH: env.PATH ?? '',
      HOME: env.HOME ?? runDir,
      TMPDIR: runDir, // S3's ephemeral object store lives here and goes with it
      SERVICES: SERVICES.join(','),
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      DNS_ADDRESS: '0',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      DISABLE_EVENTS: '1',
      PERSISTENCE: '0',
      FILESYSTEM_ROOT: fsRoot,
      LOCALSTACK_CLI: '0',
    },
  });
  closeSync(log);
  running.set(child, runDir);
  hookExit();

  const endpoint = `http://127.0.0.1:${port}`;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `exit code ${code}`;
    running.delete(child);
  });

  const readLog = () => (existsSync(logFile) ? tail(readFileSync(logFile, 'utf8')) : '');
  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (exited === undefined && Date.now() < deadline) await sleep(50);
    killGroup(child, 'SIGKILL');
    while (exited === undefined && Date.now() < deadline + 2000) await sleep(20);
    running.delete(child);
    rmSync(runDir, { recursive: true, force: true });
  };

  const timeout = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (exited !== undefined) {
      const logTail = readLog();
      await stop();
      throw new LocalStackStartError('host', 'spawn', `LocalStack exited during start (${exited})`, fixFor(logTail), logTail);
    }
    if (servicesUp(await readHealth(endpoint, 1000), SERVICES)) break;
    if (Date.now() > deadline) {
      const logTail = readLog();
      await stop();
      throw new LocalStackStartError(
        'host',
        'health',
        `kms and s3 were not available at ${endpoint}/_localstack/health after ${timeout} ms`,
        fixFor(logTail),
        logTail,
      );
    }
    await sleep(100);
  }
  return { endpoint, pid: child.pid ?? -1, logFile, venvCreated: venv.created, stop };
}

function fixFor(logTail: string): string {
  if (/address already in use|Errno 98/i.test(logTail)) return 'the port is taken: stop what holds it, or let the launcher pick a free port';
  if (/No module named|ImportError|cannot import name/.test(logTail))
    return 'the cached venv is broken or has wrong pins: delete it (see EKM_CACHE_DIR, default ~/.cache/ekm-conformance) and run again';
  return 'read the log above; set LOCALSTACK_ENDPOINT to use an already running LocalStack, or --localstack docker';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
