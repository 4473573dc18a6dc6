import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { LocalStackStartError } from './errors.ts';
import { LOCALSTACK_IMAGE } from './paths.ts';
import { SERVICES } from './host.ts';

/**
 * A cheap look for a container runtime before testcontainers is loaded: testcontainers'
 * own discovery tries several strategies and can take many seconds when there is none.
 */
export async function dockerAvailable(env = process.env, timeoutMs = 1500): Promise<boolean> {
  const host = env.DOCKER_HOST;
  let target: { socketPath: string } | { host: string; port: number };
  if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace('tcp://', 'http://'));
    target = { host: url.hostname, port: Number(url.port || 2375) };
  } else {
    const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
    if (!existsSync(socketPath)) return false;
    target = { socketPath };
  }
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startDocker(): Promise<{ endpoint: string; stop(): Promise<void> }> {
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
