import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';

/**
 * A fake Docker engine: an HTTP server on a unix socket that answers GET /_ping with OK, as
 * dockerd and Podman do, and 404 to everything else. It counts the pings it got.
 */
export async function fakeEngine(socketPath: string): Promise<{ endpoint: string; pings(): number; close(): Promise<void> }> {
  mkdirSync(dirname(socketPath), { recursive: true });
  let pings = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/_ping') {
      pings++;
      res.writeHead(200, { 'content-type': 'text/plain', 'api-version': '1.47' }).end('OK');
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    endpoint: `unix://${socketPath}`,
    pings: () => pings,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
