/**
 * Entry point of a Graph process (spawnGraphProcess): serves an empty registry over loopback
 * HTTP, prints `{"url": ...}` as its first line, and stops when its stdin closes.
 */
import { startGraphHttp } from './graph-http.ts';

const server = await startGraphHttp();
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0));
});
