/**
 * Every `ekm` command and its options, in one table: parsing (node:util parseArgs) and the
 * help text (`ekm help`, `ekm <command> --help`) are both made from it, so they cannot drift.
 */
import { parseArgs } from 'node:util';

export const DEFAULT_OUT = 'reports/conformance';
export const DOCTOR_TENANT = 'ekm-doctor';

interface Option {
  readonly type: 'string' | 'boolean';
  readonly default?: string | boolean;
  /** How the value is written in help, e.g. `<n>`. */
  readonly value?: string;
  readonly help: string;
}

interface Command {
  readonly summary: string;
  readonly args?: string;
  readonly options: Readonly<Record<string, Option>>;
}

const LOCALSTACK = {
  localstack: { type: 'string', default: 'auto', value: '<mode>', help: 'auto | host | docker | external' },
  endpoint: { type: 'string', value: '<url>', help: 'use this LocalStack endpoint' },
} as const satisfies Record<string, Option>;
const PROVIDER = {
  provider: { type: 'string', value: '<url>', help: 'the provider under test over ekm.provider/v1 HTTP (default: the reference provider in process)' },
  'provider-module': { type: 'string', value: '<path>', help: 'the provider under test: a module exporting an ekm.provider/v1 binding' },
} as const satisfies Record<string, Option>;

export const COMMANDS = {
  run: {
    summary: 'run scenarios against a provider and gate on the rule catalogue',
    args: '[paths..]  (default: the scenarios/ folder of this checkout)',
    options: {
      grep: { type: 'string', value: '<regex>', help: 'only scenarios whose id, title, rules, tags or file match' },
      shard: { type: 'string', value: '<i/n>', help: 'run the i-th of n deterministic shards' },
      concurrency: { type: 'string', value: '<n>', help: 'scenarios at once (default: number of cores)' },
      'require-all-rules': { type: 'boolean', default: false, help: 'gate a subset run (paths, --grep, --shard) on covering every rule too' },
      ...LOCALSTACK,
      out: { type: 'string', default: DEFAULT_OUT, value: '<dir>', help: 'reports directory' },
      ...PROVIDER,
    },
  },
  validate: { summary: 'check scenario files against the schema, run nothing', args: '[paths..]', options: {} },
  rules: {
    summary: 'the rule catalogue, with coverage from the last run',
    options: {
      json: { type: 'boolean', default: false, help: 'machine-readable output' },
      out: { type: 'string', default: DEFAULT_OUT, value: '<dir>', help: 'where the last run wrote its reports' },
    },
  },
  report: {
    summary: 'merge shard reports into one',
    args: 'merge <dirs..>',
    options: { out: { type: 'string', default: DEFAULT_OUT, value: '<dir>', help: 'where the merged reports go' } },
  },
  verify: {
    summary: 'check a results bundle: complete, unmodified, matching the scenario files, its verdict recomputed',
    args: '<results dir> [scenario paths..]',
    options: {},
  },
  doctor: {
    summary: 'pre-flight check of a key before enabling EKM; exit 0 when every check passes',
    options: {
      'key-arn': { type: 'string', value: '<arn>', help: 'the key ARN to check (required)' },
      endpoint: { type: 'string', value: '<url>', help: 'a KMS endpoint (the gateway, or AWS); without it only the identifier is checked' },
      account: { type: 'string', value: '<id>', help: "the provider's 12-digit account, which calls KMS (needed with --endpoint)" },
      region: { type: 'string', value: '<r>', help: "the Region the provider stores data in (default: the key's)" },
      tenant: { type: 'string', value: '<t>', help: `the tenant named in the encryption context (default: ${DOCTOR_TENANT})` },
      json: { type: 'boolean', default: false, help: 'machine-readable output' },
    },
  },
  gateway: {
    summary: 'serve an AWS-faithful KMS (key policies and grants enforced) until Ctrl-C',
    options: {
      port: { type: 'string', value: '<n>', help: 'port on 127.0.0.1 (default: a free one)' },
      ...LOCALSTACK,
      'audit-file': { type: 'string', value: '<f>', help: 'append every KMS call as a CloudTrail-shaped JSON line' },
    },
  },
  explore: {
    summary: 'random sequences over every actor, run against the model; a disagreement is shrunk into a regression scenario',
    options: {
      runs: { type: 'string', default: '50', value: '<n>', help: 'sequences' },
      seed: { type: 'string', value: '<s>', help: 'replay a search' },
      'max-commands': { type: 'string', default: '16', value: '<k>', help: 'longest sequence' },
      out: { type: 'string', default: 'scenarios/regressions', value: '<dir>', help: 'where a counterexample is written' },
      path: { type: 'string', value: '<p>', help: 'replay one counterexample by its fast-check path' },
      ...LOCALSTACK,
      ...PROVIDER,
    },
  },
  provider: {
    summary: 'serve the reference provider over ekm.provider/v1 HTTP until Ctrl-C',
    args: 'serve',
    options: { port: { type: 'string', value: '<n>', help: 'port on 127.0.0.1 (default: a free one)' } },
  },
  help: { summary: 'this text (also: ekm <command> --help)', options: {} },
} as const satisfies Record<string, Command>;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

type Values<O> = { -readonly [K in keyof O]: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { default: string } ? string : string | undefined };

/** Parses a command's arguments with its options from the table. */
export function parseCommand<C extends CommandName>(
  name: C,
  args: readonly string[],
): { values: Values<(typeof COMMANDS)[C]['options']>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(COMMANDS[name].options as Record<string, Option>).map(([k, o]) => [
      k,
      o.default === undefined ? { type: o.type } : { type: o.type, default: o.default },
    ]),
  ) as NonNullable<Parameters<typeof parseArgs>[0]>['options'];
  const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  return { values: values as Values<(typeof COMMANDS)[C]['options']>, positionals };
}

/** `left` padded to `width`, then `text`; a `left` too long for its column gets a line of its own. */
function row(indent: string, left: string, width: number, text: string): string {
  return left.length < width - 1 ? `${indent}${left.padEnd(width)}${text}` : `${indent}${left}\n${indent}${' '.repeat(width)}${text}`;
}

function optionLines(command: Command, indent: string): string[] {
  return Object.entries(command.options).map(([name, o]) => {
    const left = `--${name}${o.value === undefined ? '' : ` ${o.value}`}`;
    const def = o.default === undefined || o.default === false ? '' : ` (default: ${String(o.default)})`;
    return row(indent, left, 26, `${o.help}${def}`);
  });
}

export function commandHelp(name: CommandName): string {
  const c: Command = COMMANDS[name];
  const lines = [`usage: ekm ${name}${c.args === undefined ? '' : ` ${c.args}`}${Object.keys(c.options).length > 0 ? ' [options]' : ''}`, '', c.summary];
  if (Object.keys(c.options).length > 0) lines.push('', 'options:', ...optionLines(c, '  '));
  lines.push(row('  ', '--help', 26, 'this text'));
  return `${lines.join('\n')}\n`;
}

export function usage(): string {
  const lines = ['usage: ekm <command> [options]', '       ekm --version', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS) as [string, Command][]) {
    lines.push(row('  ', `${name}${c.args === undefined ? '' : ` ${c.args.split('  ')[0]}`}`, 28, c.summary));
    lines.push(...optionLines(c, '      '));
  }
  return `${lines.join('\n')}\n`;
}
