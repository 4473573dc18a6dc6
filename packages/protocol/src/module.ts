/**
 * The in-process binding: a TypeScript or JavaScript module whose default export (or export
 * `provider`) is a ProviderBinding, loaded by `ekm run --provider-module <path>`.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROTOCOL, type ProviderBinding } from './protocol.ts';
import { ProtocolError } from './http-client.ts';

export async function loadProviderModule(path: string, cwd = process.cwd()): Promise<ProviderBinding> {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  let mod: { default?: unknown; provider?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as typeof mod;
  } catch (error) {
    throw new ProtocolError(
      `${path}: the provider module cannot be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
      'BadModule',
    );
  }
  const found = (mod.provider ?? mod.default) as ProviderBinding | (() => ProviderBinding | Promise<ProviderBinding>) | undefined;
  const binding = typeof found === 'function' ? await found() : found;
  if (binding?.info?.protocol !== PROTOCOL || typeof binding.open !== 'function') {
    throw new ProtocolError(
      `${path}: expected a module exporting an ${PROTOCOL} provider (default or \`provider\`: { info, open }), found ${binding === undefined ? 'no such export' : 'something else'}`,
      'BadModule',
    );
  }
  return binding;
}
