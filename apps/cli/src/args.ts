/** Command-line parsing shared by every `ekm` command; each refusal says what was expected and what was found. */
import type { LocalstackMode } from '@ekm/scenario-runner';

/** The same modes as @ekm/scenario-runner's LOCALSTACK_MODES (a test holds them equal), without loading the runner to parse a flag. */
export const LOCALSTACK_MODES: readonly LocalstackMode[] = ['auto', 'host', 'docker', 'external'];

/** A value the command line got wrong (exit 2); the dispatcher knows it by its name. */
export class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function positiveInt(name: string, text: string): number {
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1) throw new ArgumentError(`--${name}: expected a whole number of at least 1, found "${text}"`);
  return Number(text);
}

export function port(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port: expected a port number from 0 to 65535, found "${text}"`);
  return Number(text);
}

export function account(name: string, text: string): string {
  if (!/^\d{12}$/.test(text)) throw new UsageError(`--${name}: expected a 12-digit AWS account ID, found "${text}"`);
  return text;
}

export function localstackMode(text: string): LocalstackMode {
  if (!(LOCALSTACK_MODES as readonly string[]).includes(text)) {
    throw new ArgumentError(`--localstack: expected one of ${LOCALSTACK_MODES.join(', ')}, found "${text}"`);
  }
  return text as LocalstackMode;
}

export function endpointUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ArgumentError(`--endpoint: expected a URL such as http://localhost:4566, found "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ArgumentError(`--endpoint: expected an http or https URL, found "${text}"`);
  }
  return text;
}

export function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}
