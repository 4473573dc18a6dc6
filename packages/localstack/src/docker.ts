import { probeEngines, type EngineCandidate } from './engine.ts';
import { LocalStackStartError } from './errors.ts';
import { LOCALSTACK_IMAGE } from './paths.ts';
import { SERVICES } from './host.ts';

/** True when some Docker-compatible engine answers (DOCKER_HOST, the context, the usual sockets). */
export async function dockerAvailable(env = process.env, timeoutMs = 1500): Promise<boolean> {
  return (await probeEngines({ env, timeoutMs })).some((e) => e.answers);
}

/**
 * testcontainers does its own discovery, which knows neither Podman's nor Colima's sockets nor
 * Docker contexts: the engine found is handed to it as DOCKER_HOST (read when it first runs).
 */
export async function startDocker(engine: EngineCandidate | undefined, env = process.env): Promise<{ endpoint: string; stop(): Promise<void> }> {
  if (engine && !env.DOCKER_HOST) process.env.DOCKER_HOST = engine.endpoint;
  try {
    const { LocalstackContainer } = await import('@testcontainers/localstack');
    const container = await new LocalstackContainer(LOCALSTACK_IMAGE)
      .withEnvironment({ SERVICES: SERVICES.join(','), DISABLE_EVENTS: '1' })
      .start();
    return { endpoint: container.getConnectionUri(), stop: async () => void (await container.stop()) };
  } catch (error) {
    throw new LocalStackStartError(
      'docker',
      'container',
      `testcontainers could not start ${LOCALSTACK_IMAGE}: ${(error as Error).message}`,
      'check that the Docker engine runs and can pull the image, or use --localstack host',
    );
  }
}
