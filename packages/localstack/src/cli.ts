/**
 * ekm-localstack mode              print the mode auto would pick, and why (JSON)
 * ekm-localstack ensure            decide the mode; host mode: create the cached venv if missing
 * ekm-localstack run -- <cmd...>   start LocalStack, run cmd with LOCALSTACK_ENDPOINT set, stop it
 * ekm-localstack start             start and serve until interrupted, printing the endpoint
 */
import { spawn } from 'node:child_process';
import { detectMode, ensureVenv, LocalStackStartError, startLocalStack } from './index.ts';

const [command, ...rest] = process.argv.slice(2);

async function main(): Promise<number> {
  switch (command) {
    case 'mode': {
      console.log(JSON.stringify(await detectMode({ checkPython: true })));
      return 0;
    }
    case 'ensure': {
      // What the bootstrap runs: the venv is built only when host mode is what a run would use.
      const decision = await detectMode({ checkPython: true });
      console.log(`LocalStack mode: ${decision.mode}, because ${decision.reason}`);
      if (decision.problem) {
        console.error(`LocalStack cannot be had in ${decision.mode} mode: ${decision.problem}`);
        return 1;
      }
      if (decision.mode !== 'host') return 0;
      const venv = await ensureVenv();
      console.log(`LocalStack venv ${venv.created ? 'created' : 'reused'}: ${venv.dir} (${Math.round(venv.ms)} ms)`);
      return 0;
    }
    case 'run': {
      const argv = rest[0] === '--' ? rest.slice(1) : rest;
      if (argv.length === 0) throw new Error('usage: ekm-localstack run -- <command...>');
      const ls = await startLocalStack();
      console.log(`LocalStack ${ls.mode} at ${ls.endpoint} (ready in ${Math.round(ls.startMs)} ms)`);
      try {
        return await new Promise<number>((resolve) => {
          const child = spawn(argv[0]!, argv.slice(1), {
            stdio: 'inherit',
            shell: argv.length === 1,
            env: { ...process.env, LOCALSTACK_ENDPOINT: ls.endpoint, ...(ls.pid === undefined ? {} : { EKM_LOCALSTACK_PID: String(ls.pid) }) },
          });
          child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
        });
      } finally {
        await ls.stop();
      }
    }
    case 'start': {
      const ls = await startLocalStack();
      console.log(`LocalStack ${ls.mode} at ${ls.endpoint} (ready in ${Math.round(ls.startMs)} ms); Ctrl-C stops it`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await ls.stop();
      return 0;
    }
    default:
      console.error('usage: ekm-localstack mode | ensure | run -- <command...> | start');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof LocalStackStartError ? error.message : error);
    process.exit(1);
  },
);
