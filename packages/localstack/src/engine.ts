import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A place a Docker-compatible engine may listen, and why it is looked at. */
export interface EngineCandidate {
  /** unix:///path or tcp://host:port (ssh:// and npipe:// are listed but not probed). */
  endpoint: string;
  source: string;
}

export interface EngineProbe extends EngineCandidate {
  exists: boolean;
  /** GET /_ping answered 200. */
  answers: boolean;
}

/** The current Docker context, as `docker context inspect` would resolve it, read from its files. */
export interface DockerContext {
  name: string;
  host?: string;
  problem?: string;
}

/** Sockets at fixed places: Docker's default and rootful Podman's. */
export const SYSTEM_SOCKETS: readonly EngineCandidate[] = [
  { endpoint: 'unix:///var/run/docker.sock', source: 'Docker default socket' },
  { endpoint: 'unix:///run/podman/podman.sock', source: 'Podman (rootful)' },
];

/**
 * Where to look, in order: what the user chose (DOCKER_HOST, then the current context), then
 * the fixed sockets (Docker's default, rootful Podman), then the per-user ones of rootless
 * Docker, Docker Desktop, rootless Podman and Colima. Pure.
 */
export function engineCandidates(input: {
  env: NodeJS.ProcessEnv;
  home: string;
  context?: DockerContext | undefined;
  system?: readonly EngineCandidate[];
}): EngineCandidate[] {
  const { env, home, context } = input;
  const system = input.system ?? SYSTEM_SOCKETS;
  const xdg = env.XDG_RUNTIME_DIR;
  const list: EngineCandidate[] = [];
  if (env.DOCKER_HOST) list.push({ endpoint: env.DOCKER_HOST, source: 'DOCKER_HOST' });
  if (context?.host) list.push({ endpoint: context.host, source: `docker context "${context.name}"` });
  list.push(...system);
  if (xdg) list.push({ endpoint: `unix://${join(xdg, 'docker.sock')}`, source: 'rootless Docker ($XDG_RUNTIME_DIR)' });
  list.push({ endpoint: `unix://${join(home, '.docker/run/docker.sock')}`, source: 'Docker Desktop' });
  if (xdg) list.push({ endpoint: `unix://${join(xdg, 'podman/podman.sock')}`, source: 'Podman (rootless, $XDG_RUNTIME_DIR)' });
  list.push({ endpoint: `unix://${join(home, '.colima/default/docker.sock')}`, source: 'Colima' });
  list.push({ endpoint: `unix://${join(home, '.colima/docker.sock')}`, source: 'Colima (older layout)' });
  const seen = new Set<string>();
  return list.filter((c) => !seen.has(c.endpoint) && !!seen.add(c.endpoint));
}

/**
 * The context the docker CLI would use: DOCKER_CONTEXT, else config.json's currentContext;
 * its endpoint is in contexts/meta/<sha256 of the name>/meta.json. "default" means the
 * default socket, so it adds nothing. Read from files: no docker CLI needed.
 */
export function readDockerContext(env: NodeJS.ProcessEnv = process.env, home = homedir()): DockerContext | undefined {
  const dir = env.DOCKER_CONFIG || join(home, '.docker');
  let name = env.DOCKER_CONTEXT;
  if (!name) {
    try {
      name = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { currentContext?: string }).currentContext;
    } catch {
      return undefined; // no config, or one we cannot read: the CLI would use the default too
    }
  }
  if (!name || name === 'default') return undefined;
  const meta = join(dir, 'contexts/meta', createHash('sha256').update(name).digest('hex'), 'meta.json');
  try {
    const parsed = JSON.parse(readFileSync(meta, 'utf8')) as { Endpoints?: { docker?: { Host?: string } } };
    const host = parsed.Endpoints?.docker?.Host;
    return host ? { name, host } : { name, problem: `${meta} names no docker endpoint` };
  } catch (error) {
    return { name, problem: `cannot read ${meta}: ${(error as Error).message}` };
  }
}

function target(endpoint: string): { socketPath: string } | { host: string; port: number } | undefined {
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length) };
  if (/^(tcp|http):\/\//.test(endpoint)) {
    const url = new URL(endpoint.replace(/^tcp:/, 'http:'));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  return undefined; // ssh://, npipe://: testcontainers may still reach them, we do not guess
}

/** True when the engine at endpoint answers GET /_ping with 200 within timeoutMs. */
export async function pingEngine(endpoint: string, timeoutMs = 1500): Promise<boolean> {
  const to = target(endpoint);
  if (!to) return false;
  return new Promise((resolve) => {
    const req = request({ ...to, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Probes every candidate at once (each a socket check and one /_ping), in list order. */
export async function probeEngines(
  options: { env?: NodeJS.ProcessEnv; home?: string; system?: readonly EngineCandidate[]; timeoutMs?: number } = {},
): Promise<EngineProbe[]> {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? homedir();
  const candidates = engineCandidates({ env, home, context: readDockerContext(env, home), ...(options.system ? { system: options.system } : {}) });
  return Promise.all(
    candidates.map(async (c) => {
      const to = target(c.endpoint);
      const exists = to !== undefined && ('socketPath' in to ? existsSync(to.socketPath) : true);
      return { ...c, exists, answers: exists && (await pingEngine(c.endpoint, options.timeoutMs)) };
    }),
  );
}
