import { cli } from './cli.ts';

const controller = new AbortController();
let interrupted = false;
const stop = (signal: NodeJS.Signals) => {
  // The first signal lets the command stop its world (or gateway) cleanly; a second one does not wait.
  if (interrupted) process.exit(signal === 'SIGINT' ? 130 : 143);
  interrupted = true;
  process.stderr.write(`\n${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping (Ctrl-C again to quit now)\n`);
  controller.abort(signal);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

process.exitCode = await cli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  signal: controller.signal,
});
