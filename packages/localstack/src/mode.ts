import { probeEngines, type EngineCandidate, type EngineProbe } from './engine.ts';
import { LocalStackStartError, type LocalStackMode } from './errors.ts';
import { findPython } from './venv.ts';

const MODES = ['auto', 'external', 'docker', 'host'] as const;

export interface ModeInput {
  env: { LOCALSTACK_ENDPOINT?: string | undefined; EKM_LOCALSTACK_MODE?: string | undefined };
  /** --localstack / options.mode; wins over EKM_LOCALSTACK_MODE. */
  mode?: string | undefined;
  /** --endpoint / options.endpoint; wins over LOCALSTACK_ENDPOINT. */
  endpoint?: string | undefined;
  engines: readonly EngineProbe[];
  /** Whether a Python >= 3.10 is there; undefined: not asked (it is asked only when no engine answers). */
  python?: boolean | undefined;
}

export interface ModeDecision {
  mode: LocalStackMode;
  reason: string;
  endpoint?: string;
  /** docker mode: the engine that answered, for testcontainers. */
  engine?: EngineCandidate;
  /** Set when the chosen mode cannot work: what is missing and what to do. */
  problem?: string;
}

function tried(engines: readonly EngineProbe[]): string {
  const shown = engines.map((e) => `${e.endpoint} (${e.source}): ${e.exists ? 'no answer to /_ping' : 'absent'}`);
  return shown.length ? shown.join('; ') : 'no candidates';
}

/**
 * Which LocalStack to use, and why, from what was found. Pure: the probing is done by the
 * caller (detectMode). auto takes the first that applies: an endpoint given, a Docker
 * engine answering, a local Python.
 */
export function decideMode(input: ModeInput): ModeDecision {
  const asked = input.mode ?? input.env.EKM_LOCALSTACK_MODE ?? 'auto';
  const askedBy = input.mode !== undefined ? 'asked for' : 'EKM_LOCALSTACK_MODE';
  if (!(MODES as readonly string[]).includes(asked))
    throw new LocalStackStartError('auto', 'mode', `unknown LocalStack mode "${asked}" (from ${askedBy})`, `use one of ${MODES.join(', ')}`);
  const endpoint = input.endpoint ?? input.env.LOCALSTACK_ENDPOINT;
  const engine = input.engines.find((e) => e.answers);
  const picked = engine ? { engine: { endpoint: engine.endpoint, source: engine.source } } : {};

  if (asked === 'external' || (asked === 'auto' && endpoint)) {
    const why = asked === 'external' ? `${askedBy}: external` : input.endpoint ? 'an endpoint was given' : 'LOCALSTACK_ENDPOINT is set';
    return endpoint
      ? { mode: 'external', reason: `${why} (${endpoint})`, endpoint }
      : { mode: 'external', reason: why, problem: 'no endpoint given: set LOCALSTACK_ENDPOINT or pass --endpoint http://host:port' };
  }
  if (asked === 'docker')
    return engine
      ? { mode: 'docker', reason: `${askedBy}: docker; engine at ${engine.endpoint} (${engine.source})`, ...picked }
      : { mode: 'docker', reason: `${askedBy}: docker; no engine answered here (${tried(input.engines)}), testcontainers looks itself` };
  if (asked === 'auto' && engine)
    return { mode: 'docker', reason: `a Docker engine answers /_ping at ${engine.endpoint} (${engine.source})`, ...picked };

  const why = asked === 'host' ? `${askedBy}: host` : `no Docker engine answered (${tried(input.engines)})`;
  if (input.python === false)
    return {
      mode: 'host',
      reason: `${why}; no Python >= 3.10 found`,
      problem: 'install Python 3.10 or 3.11 (or set EKM_PYTHON), start a Docker engine, or set LOCALSTACK_ENDPOINT to a running LocalStack',
    };
  return { mode: 'host', reason: `${why}; ${input.python ? 'Python >= 3.10 found' : 'Python not checked yet'}` };
}

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  mode?: string | undefined;
  endpoint?: string | undefined;
  /** Ask for Python when host mode is the outcome (the bootstrap does; a start finds out anyway). */
  checkPython?: boolean;
  /** Tests: the fixed sockets to look at instead of /var/run/docker.sock and /run/podman/podman.sock. */
  system?: readonly EngineCandidate[];
  home?: string;
}

/** Probes what decideMode needs and no more: no engine probe for an endpoint, no Python when an engine answers. */
export async function detectMode(options: DetectOptions = {}): Promise<ModeDecision> {
  const env = options.env ?? process.env;
  const base = { env, mode: options.mode, endpoint: options.endpoint, engines: [] as EngineProbe[] };
  const first = decideMode(base);
  if (first.mode === 'external') return first;
  const hostAsked = (options.mode ?? env.EKM_LOCALSTACK_MODE) === 'host';
  const engines = hostAsked
    ? []
    : await probeEngines({ env, ...(options.home ? { home: options.home } : {}), ...(options.system ? { system: options.system } : {}) });
  const second = decideMode({ ...base, engines });
  if (second.mode !== 'host' || !options.checkPython) return second;
  const python = await findPython(env).then(
    () => true,
    () => false,
  );
  return decideMode({ ...base, engines, python });
}
