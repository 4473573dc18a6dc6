/**
 * The provider under test, chosen on the command line: `--provider <url>` (the HTTP binding),
 * `--provider-module <path>` (the in-process binding), or by default the reference provider
 * in process. And `ekm provider serve`, the reference provider behind the HTTP binding.
 */
import { referenceProvider } from '@ekm/backup/conformance';
import { httpProvider, loadProviderModule, serveProvider, type ProviderBinding } from '@ekm/protocol';
import type { ProviderUnderTest } from '@ekm/scenario-runner';
import { endpointUrl, port, UsageError } from './args.ts';
import { parseCommand } from './commands.ts';
import type { Io } from './cli.ts';

export interface ChosenProvider {
  readonly binding: ProviderBinding;
  readonly described: ProviderUnderTest;
}

/**
 * `onKeyMaterial` is the secret scan's observer: the reference provider, run in process, tells
 * it every plaintext key it handles. A provider over HTTP or from a module keeps its keys to
 * itself; the scan then looks for what the harness knows (imported key material).
 */
export async function chooseProvider(
  values: { provider?: string | undefined; 'provider-module'?: string | undefined },
  cwd: string,
  onKeyMaterial?: (plaintext: Uint8Array, kind: 'tenant-key' | 'data-key') => void,
): Promise<ChosenProvider> {
  if (values.provider !== undefined && values['provider-module'] !== undefined) {
    throw new UsageError('expected one of --provider <url> and --provider-module <path>, found both');
  }
  if (values.provider !== undefined) {
    const url = endpointUrl(values.provider);
    const binding = await httpProvider(url);
    return { binding, described: describe(binding, 'http', url) };
  }
  if (values['provider-module'] !== undefined) {
    const binding = await loadProviderModule(values['provider-module'], cwd);
    return { binding, described: describe(binding, 'in-process', values['provider-module']) };
  }
  const binding = referenceProvider(onKeyMaterial === undefined ? {} : { onKeyMaterial });
  return { binding, described: describe(binding, 'in-process') };
}

function describe(binding: ProviderBinding, kind: ProviderUnderTest['binding'], location?: string): ProviderUnderTest {
  const { info } = binding;
  return {
    name: info.name,
    version: info.version,
    protocol: info.protocol,
    binding: kind,
    ...(location === undefined ? {} : { location }),
    capabilities: [...info.capabilities],
  };
}

/** `ekm provider serve [--port n]`: prints `listening on <url>` and serves until interrupted. */
export async function providerCommand(args: readonly string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'serve') throw new UsageError(`ekm provider: expected "serve", found ${sub === undefined ? 'nothing' : `"${sub}"`}`);
  const { values, positionals } = parseCommand('provider', rest);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (io.signal?.aborted === true) return 0;
  const served = await serveProvider(referenceProvider(), values.port === undefined ? {} : { port: port(values.port) });
  io.stdout.write(`listening on ${served.url}\n`);
  try {
    await new Promise<void>((resolve) => {
      if (io.signal === undefined) return;
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await served.close();
  }
  io.stderr.write('ekm provider: stopped\n');
  return 0;
}
