/**
 * `ekm gateway`: LocalStack behind the KMS gateway, served until interrupted, so that any
 * AWS SDK or the AWS CLI gets a KMS that enforces key policies and grants.
 */
import { CONTROL_PREFIX, startKmsGateway } from '@ekm/kms-gateway';
import type { KmsGateway } from '@ekm/kms-gateway';
import { startLocalStack } from '@ekm/localstack';
import type { LocalStack } from '@ekm/localstack';
import { endpointUrl, localstackMode, noPositionals, port, UsageError } from './args.ts';
import { parseCommand } from './commands.ts';
import type { Io } from './cli.ts';

/** The line a script (or the test) waits for; the URL is the rest of the line. */
export const ENDPOINT_LINE = 'ekm gateway: KMS endpoint ';

const EXAMPLE_ACCOUNT = '111122223333';
const EXAMPLE_REGION = 'us-east-1';

export async function gateway(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('gateway', args);
  noPositionals(positionals);
  const listen = values.port === undefined ? 0 : port(values.port);
  const mode = localstackMode(values.localstack);
  const endpoint = values.endpoint === undefined ? undefined : endpointUrl(values.endpoint);
  if (mode === 'external' && endpoint === undefined && !process.env.LOCALSTACK_ENDPOINT) {
    throw new UsageError('--localstack external: expected --endpoint <url> (or LOCALSTACK_ENDPOINT) too, found none');
  }
  const signal = io.signal;
  if (signal?.aborted === true) return 0;

  io.stderr.write(`ekm gateway: ${endpoint === undefined ? `starting LocalStack (${mode} mode)` : `using LocalStack at ${endpoint}`}\n`);
  const localstack = await withOwnSignals(() => startLocalStack({ mode, ...(endpoint === undefined ? {} : { endpoint }) }));
  let gw: KmsGateway | undefined;
  try {
    gw = await startKmsGateway({
      localstackEndpoint: localstack.endpoint,
      port: listen,
      ...(values['audit-file'] === undefined ? {} : { auditFile: values['audit-file'] }),
    });
    io.stdout.write(banner(gw.endpoint, localstack, values['audit-file']));
    await interrupted(signal);
    io.stderr.write('ekm gateway: stopping\n');
  } finally {
    // The gateway first, so no request reaches a LocalStack that is going away.
    await gw?.close();
    await localstack.stop();
  }
  io.stderr.write(`ekm gateway: stopped${localstack.mode === 'external' ? '' : ` (LocalStack ${localstack.mode} stopped)`}\n`);
  return 0;
}

/**
 * Host-mode LocalStack hooks SIGINT/SIGTERM to kill its process and re-raise the signal,
 * which would end this command with 130 before the gateway closes. The command stops
 * LocalStack itself on the signal, so it drops those hooks; the exit hook that kills a
 * leftover LocalStack on any other way out stays.
 */
async function withOwnSignals<T>(start: () => Promise<T>): Promise<T> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  try {
    return await start();
  } finally {
    for (const s of signals) {
      for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
    }
  }
}

function interrupted(signal: AbortSignal | undefined): Promise<void> {
  // Without a signal (an embedding that never interrupts) the gateway serves until the process ends.
  if (signal === undefined) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function banner(url: string, localstack: LocalStack, auditFile: string | undefined): string {
  const control = `${url}${CONTROL_PREFIX}`;
  return [
    `${ENDPOINT_LINE}${url}`,
    `  LocalStack:  ${localstack.endpoint} (${localstack.mode})`,
    `  control API: ${control} (clock, toxics, audit, stats, principals), e.g. curl ${control}stats`,
    ...(auditFile === undefined ? [] : [`  audit file:  ${auditFile}`]),
    '',
    'The caller is the account in the access key id (any 12 digits); any secret key works.',
    'Key policies and grants are enforced, also across accounts, as in AWS KMS.',
    '',
    'AWS CLI:',
    `  export AWS_ACCESS_KEY_ID=${EXAMPLE_ACCOUNT} AWS_SECRET_ACCESS_KEY=test AWS_REGION=${EXAMPLE_REGION}`,
    `  aws kms create-key --endpoint-url ${url}`,
    'Any AWS SDK: set the KMS client endpoint to the URL above with those credentials, or',
    `  export AWS_ENDPOINT_URL_KMS=${url}`,
    `  e.g. new KMSClient({ endpoint: '${url}', region: '${EXAMPLE_REGION}', credentials: { accessKeyId: '${EXAMPLE_ACCOUNT}', secretAccessKey: 'test' } })`,
    '',
    'Ctrl-C (SIGINT) or SIGTERM stops the gateway and the LocalStack it started.',
    '',
  ].join('\n');
}
