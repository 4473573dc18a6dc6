import { startDocker } from './docker.ts';
import { LocalStackStartError, type LocalStackMode } from './errors.ts';
import { waitForHealth } from './health.ts';
import { SERVICES, startHost } from './host.ts';
import { detectMode } from './mode.ts';

export { LocalStackStartError, type LocalStackMode } from './errors.ts';
export { LOCALSTACK_IMAGE, LOCALSTACK_VERSION, cacheRoot, venvDir } from './paths.ts';
export { ensureVenv, findPython } from './venv.ts';
export { dockerAvailable } from './docker.ts';
export { freePort } from './host.ts';
export { decideMode, detectMode, type ModeDecision, type ModeInput } from './mode.ts';
export { engineCandidates, pingEngine, probeEngines, readDockerContext, type EngineCandidate, type EngineProbe } from './engine.ts';

export interface LocalStackOptions {
  /** auto: LOCALSTACK_ENDPOINT if set, else Docker if a runtime answers, else host mode. */
  mode?: LocalStackMode | 'auto';
  endpoint?: string;
  /** host mode only: the port to listen on (default: a free one). */
  port?: number;
  startTimeoutMs?: number;
  /** external mode: how long to wait for /_localstack/health to report kms and s3 (default 60 s). */
  healthWaitMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface LocalStack {
  endpoint: string;
  mode: LocalStackMode;
  /** Time to get a usable endpoint, including venv creation on first use. */
  startMs: number;
  venvCreated: boolean;
  /** The LocalStack process, when this run started it on this host (fault injection freezes it). */
  pid?: number;
  /** Host mode: LocalStack's log, until stop() removes it with the run folder. */
  logFile?: string;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = options.env ?? process.env;
  const started = performance.now();
  const decision = await detectMode({ env, mode: options.mode, endpoint: options.endpoint });
  const { mode, endpoint } = decision;

  if (mode === 'external') {
    if (!endpoint)
      throw new LocalStackStartError('external', 'endpoint', 'no endpoint given', 'set LOCALSTACK_ENDPOINT or pass --endpoint http://host:port');
    const waitMs = options.healthWaitMs ?? 60_000;
    const { health, up, tries } = await waitForHealth(endpoint, SERVICES, waitMs);
    if (!up) {
      const seen = health ? JSON.stringify(Object.fromEntries(SERVICES.map((s) => [s, health.services[s] ?? 'absent']))) : 'no answer';
      throw new LocalStackStartError(
        'external',
        'health',
        `${endpoint}/_localstack/health did not report kms and s3 available within ${waitMs / 1000} s (${tries} tries; last: ${seen})`,
        'start LocalStack with SERVICES=kms,s3 (docker compose -f docker/docker-compose.yml up -d --wait), or unset LOCALSTACK_ENDPOINT to let the project start one',
      );
    }
    // A LocalStack that `ekm-localstack run` started for this process tree is still this host's.
    const pid = endpoint === env.LOCALSTACK_ENDPOINT && env.EKM_LOCALSTACK_PID ? Number(env.EKM_LOCALSTACK_PID) : undefined;
    return { endpoint, mode, startMs: performance.now() - started, venvCreated: false, ...(pid ? { pid } : {}), stop: async () => {} };
  }
  if (mode === 'docker') {
    const docker = await startDocker(decision.engine, env);
    return { ...docker, mode, startMs: performance.now() - started, venvCreated: false };
  }
  const host = await startHost({
    env,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.startTimeoutMs !== undefined ? { startTimeoutMs: options.startTimeoutMs } : {}),
  });
  return { endpoint: host.endpoint, mode, startMs: performance.now() - started, venvCreated: host.venvCreated, pid: host.pid, logFile: host.logFile, stop: host.stop };
}
