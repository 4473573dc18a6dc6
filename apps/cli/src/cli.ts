/**
 * The `ekm` command. Exit codes: 0 the gate passed (or the command succeeded),
 * 1 the gate failed / files are invalid / a merge was refused, 2 the command line is wrong,
 * 130 / 143 a run interrupted by SIGINT / SIGTERM.
 *
 * This module loads only the option table and the version: each command's module (and the
 * AWS SDK, LocalStack, the world behind it) is imported when that command runs, so that
 * `ekm --version` and `ekm <command> --help` start at Node's own speed.
 */
import type { CatalogueRule, ProgressStream, World, WorldOptions } from '@ekm/scenario-runner';
import { UsageError } from './args.ts';
import { commandHelp, isCommand, usage } from './commands.ts';
import { version } from './version.ts';

export type CatalogueRuleSource = (io: Io) => CatalogueRule[];

export interface Io {
  readonly stdout: ProgressStream;
  readonly stderr: { write(text: string): unknown };
  readonly cwd: string;
  readonly signal?: AbortSignal;
  /** Tests replace the catalogue and the world; the command uses @ekm/domain and `openWorld`. */
  readonly rules?: readonly CatalogueRule[];
  readonly openWorld?: (options: WorldOptions) => Promise<World>;
}

export { DEFAULT_OUT } from './commands.ts';

export async function cli(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--version' || command === '-V' || command === 'version') {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    // `ekm <command> --help` before any parsing, so a command's own checks never hide its help.
    if (isCommand(command) && (rest.includes('--help') || rest.includes('-h'))) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    switch (command) {
      case 'run': {
        const [{ run }, { catalogue }] = await Promise.all([import('./run.ts'), import('./reports.ts')]);
        return await run(rest, io, catalogue);
      }
      case 'verify':
        return await (await import('./verify.ts')).verify(rest, io);
      case 'rules':
        return await (await import('./reports.ts')).rules(rest, io);
      case 'validate':
        return await (await import('./reports.ts')).validate(rest, io);
      case 'report':
        return await (await import('./reports.ts')).report(rest, io);
      case 'doctor':
        return await (await import('./doctor.ts')).doctor(rest, io);
      case 'gateway':
        return await (await import('./gateway.ts')).gateway(rest, io);
      case 'explore':
        return await (await import('./explore.ts')).explore(rest, io);
      case 'provider':
        return await (await import('./provider.ts')).providerCommand(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(usage());
        return 0;
      case undefined:
        io.stderr.write(usage());
        return 2;
      default:
        io.stderr.write(`ekm: unknown command "${command}"\n${usage()}`);
        return 2;
    }
  } catch (err) {
    // Checked by name: the error classes live in modules this one does not load up front.
    const name = (err as { name?: unknown } | null)?.name;
    if (err instanceof UsageError || name === 'ArgumentError' || isParseArgsError(err)) {
      io.stderr.write(`ekm ${command}: ${usageMessage(err)}\nrun "ekm ${isCommand(command) ? `${command} ` : ''}--help" for usage\n`);
      return 2;
    }
    if (name === 'MergeError') {
      io.stderr.write(`ekm report merge: ${(err as Error).message}\n`);
      return 1;
    }
    // Anything else is a bug or the environment; say it in one line, no stack trace.
    io.stderr.write(`ekm ${command ?? ''}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    return 1;
  }
}

function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

function usageMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // node:util phrases these for its own audience ("To specify a positional argument ..."); keep the first sentence.
  return message
    .split('. To ')[0]!
    .replace(/^Unknown option/, 'unknown option')
    .replace(/^Option/, 'option');
}
