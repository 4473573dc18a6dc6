/** `ekm explore`: random enable/update/rotate/revoke/restore sequences against the model; a disagreement becomes a regression scenario. */
import { explore as search, openWorld } from '@ekm/scenario-runner';
import { endpointUrl, localstackMode, positiveInt, UsageError } from './args.ts';
import { parseCommand } from './commands.ts';
import type { Io } from './cli.ts';
import { chooseProvider } from './provider.ts';

export async function explore(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('explore', args);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.seed !== undefined && !/^-?\d{1,10}$/.test(values.seed)) throw new UsageError(`--seed: expected a whole number, found "${values.seed}"`);
  const mode = localstackMode(values.localstack);
  const endpoint = values.endpoint === undefined ? undefined : endpointUrl(values.endpoint);
  const chosen = await chooseProvider(values, io.cwd);
  const world = await (io.openWorld ?? openWorld)({ localstack: mode, provider: chosen.binding, ...(endpoint === undefined ? {} : { endpoint }) });
  try {
    const report = await search({
      runs: positiveInt('runs', values.runs),
      maxCommands: positiveInt('max-commands', values['max-commands']),
      out: values.out,
      world,
      log: (line) => io.stderr.write(`${line}\n`),
      ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
      ...(values.path === undefined ? {} : { path: values.path }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    for (const line of report.lines) io.stdout.write(`${line}\n`);
    return report.status === 'passed' ? 0 : 1;
  } finally {
    await world.close();
  }
}
