/**
 * `ekm doctor`: the pre-flight check a customer runs before enabling EKM. Without an
 * endpoint it checks the identifier alone; with one it validates the key as the provider
 * does (EKM-06) and then tries, one by one, every KMS operation the provider needs, as the
 * provider's account and with the encryption context it will use (EKM-02, EKM-20).
 * It never prints plaintext or data keys: every one it receives is zeroed at once.
 */
import { randomBytes } from 'node:crypto';
import { failure, parseKeyArn } from '@ekm/domain';
import type { Failure, FailureCode, KeyArn } from '@ekm/domain';
import { createKmsClient, ProviderFailure, kmsPort, refusalOf, tenantKeyContext, validateKey } from '@ekm/kms';
import type { EncryptionContext, KeyDescription, KeyPort } from '@ekm/kms';
import { account, endpointUrl, noPositionals, UsageError } from './args.ts';
import type { Io } from './cli.ts';

/** The tenant named in the encryption context when `--tenant` is not given. */
import { DOCTOR_TENANT, parseCommand } from './commands.ts';
export { DOCTOR_TENANT };

/** What the provider calls on the customer's key, in the order the report lists them. */
export const OPERATIONS = ['DescribeKey', 'GenerateDataKey', 'Decrypt', 'Encrypt', 'ReEncrypt'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The key-policy actions each operation needs (ReEncrypt to the same key needs both halves). */
export const ACTIONS: Record<Operation, readonly string[]> = {
  DescribeKey: ['kms:DescribeKey'],
  GenerateDataKey: ['kms:GenerateDataKey'],
  Decrypt: ['kms:Decrypt'],
  Encrypt: ['kms:Encrypt'],
  ReEncrypt: ['kms:ReEncryptFrom', 'kms:ReEncryptTo'],
};

export interface OperationCheck {
  readonly operation: Operation;
  readonly actions: readonly string[];
  readonly status: 'allowed' | 'refused' | 'not-tried';
  /** The AWS error code KMS answered with, e.g. `AccessDeniedException`. */
  readonly awsError?: string;
  readonly code?: FailureCode;
  /** What KMS's refusal means, in the provider's words. */
  readonly message?: string;
  /** One sentence saying what to change. */
  readonly fix?: string;
}

export type IdentifierCheck =
  | ({ readonly ok: true } & Omit<KeyArn, 'arn'>)
  | { readonly ok: false; readonly code: FailureCode; readonly message: string; readonly field?: string };

/** The `--json` shape. `version` changes only when a field changes meaning or goes away. */
export interface DoctorReport {
  readonly version: 1;
  readonly ok: boolean;
  readonly keyArn: string;
  /** `identifier`: no endpoint, the ARN alone was checked; `key`: the key was used through the endpoint. */
  readonly checked: 'identifier' | 'key';
  readonly endpoint?: string;
  readonly account?: string;
  readonly region?: string;
  readonly encryptionContext?: EncryptionContext;
  readonly identifier: IdentifierCheck;
  readonly key?: Omit<KeyDescription, 'validTo'> & { readonly validTo?: string };
  /** Every finding of the key validation, each with its failure code and a customer sentence. */
  readonly findings: readonly Failure[];
  /** The one refusal the console would show for these findings, naming every one of them. */
  readonly refusal?: Failure;
  /** Set when the endpoint does not answer at all: the one root cause; nothing else was tried. */
  readonly unreachable?: Failure;
  /**
   * The key-policy statements to add when the policy does not let the provider's account use the
   * key: the AWS console's default "other AWS accounts" statements, with the provider's account.
   */
  readonly policyStatements?: readonly PolicyStatement[];
  readonly operations: readonly OperationCheck[];
}

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Principal: { readonly AWS: string };
  readonly Action: readonly string[];
  readonly Resource: '*';
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** What the AWS console adds for "Other AWS accounts" that may use the key, for the provider's account. */
export function providerStatements(account: string): PolicyStatement[] {
  const principal = { AWS: `arn:aws:iam::${account}:root` };
  return [
    {
      Sid: 'Allow use of the key',
      Effect: 'Allow',
      Principal: principal,
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      Resource: '*',
    },
    {
      Sid: 'Allow attachment of persistent resources',
      Effect: 'Allow',
      Principal: principal,
      Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
      Resource: '*',
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    },
  ];
}

export interface DoctorOptions {
  readonly keyArn: string;
  readonly endpoint?: string;
  /** The provider's account, which calls KMS; needed with an endpoint. */
  readonly account?: string;
  /** The Region the provider stores data in; default: the key's. */
  readonly region?: string;
  readonly tenant?: string;
}

export async function examine(options: DoctorOptions): Promise<DoctorReport> {
  const parsed = parseKeyArn(options.keyArn);
  const base = { version: 1 as const, keyArn: options.keyArn.trim() };
  if (!parsed.ok) {
    const f = parsed.failure;
    return {
      ...base,
      ok: false,
      checked: options.endpoint === undefined ? 'identifier' : 'key',
      identifier: { ok: false, code: f.code, message: f.message, ...(f.field === undefined ? {} : { field: f.field }) },
      findings: [f],
      operations: [],
    };
  }
  const arn = parsed.arn;
  const { arn: _, ...fields } = arn;
  const identifier: IdentifierCheck = { ok: true, ...fields };
  const region = options.region ?? arn.region;

  if (options.endpoint === undefined) {
    const findings = region === arn.region ? [] : [regionMismatch(arn, region)];
    return { ...base, ok: findings.length === 0, checked: 'identifier', region, identifier, findings, operations: [] };
  }
  if (options.account === undefined) throw new UsageError('--endpoint: expected --account <provider account> too, found none');

  const client = createKmsClient({ endpoint: options.endpoint, region: arn.region, account: options.account, maxAttempts: 2 });
  try {
    const port = kmsPort(client, options.account);
    const context = tenantKeyContext(options.tenant ?? DOCTOR_TENANT);
    const common = { ...base, checked: 'key' as const, endpoint: options.endpoint, account: options.account, region, encryptionContext: context, identifier };
    // An endpoint that does not answer is one root cause, not a failure of every check: ask once.
    const down = await unanswered(port, arn, options.endpoint);
    if (down !== undefined) {
      const operations = OPERATIONS.map(
        (operation): OperationCheck => ({ operation, actions: ACTIONS[operation], status: 'not-tried', fix: 'Not tried: the endpoint does not answer.' }),
      );
      return { ...common, ok: false, unreachable: down, findings: [down], operations };
    }
    const validation = await validateKey(port, arn.arn, { regions: [region] });
    const operations = await tryOperations(port, arn, context, options.endpoint);
    const key = validation.key === undefined ? undefined : keyFacts(validation.key);
    const refusal = refusalOf(validation.findings);
    const denied = validation.findings.some((f) => f.code === 'KeyAccessDenied') || operations.some((o) => o.code === 'KeyAccessDenied');
    return {
      ...common,
      ok: validation.ok && operations.every((o) => o.status === 'allowed'),
      ...(key === undefined ? {} : { key }),
      findings: validation.findings,
      ...(refusal === undefined ? {} : { refusal }),
      ...(denied ? { policyStatements: providerStatements(options.account) } : {}),
      operations,
    };
  } finally {
    client.destroy();
  }
}

/** The endpoint's silence as one failure, or undefined when it answered (with anything, even a refusal). */
async function unanswered(port: KeyPort, arn: KeyArn, endpoint: string): Promise<Failure | undefined> {
  try {
    await port.describe(arn.arn);
    return undefined;
  } catch (error) {
    const cause = error instanceof ProviderFailure ? error.cause : error;
    const status = (cause as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
    const f = error instanceof ProviderFailure ? error.failure : undefined;
    if (f === undefined || f.code !== 'KmsUnavailable' || status !== undefined) return undefined;
    const why = awsErrorCode(cause);
    return failure(
      'KmsUnavailable',
      `${endpoint} does not answer (${why === 'UnknownError' ? f.message : why}); no check could run. Check the URL and that a KMS endpoint (AWS KMS, or the gateway) is listening there, then run the check again.`,
      'endpoint',
    );
  }
}

function keyFacts(key: KeyDescription): NonNullable<DoctorReport['key']> {
  const { validTo, ...rest } = key;
  return validTo === undefined ? rest : { ...rest, validTo: validTo.toISOString() };
}

function regionMismatch(arn: KeyArn, region: string): Failure {
  return failure('KeyRegionMismatch', `The key is in ${arn.region}; use a key in ${region}, where your backups are stored.`, 'region');
}

async function tryOperations(port: KeyPort, arn: KeyArn, context: EncryptionContext, endpoint: string): Promise<OperationCheck[]> {
  const results = new Map<Operation, OperationCheck>();
  const attempt = async <T>(operation: Operation, call: () => Promise<T>): Promise<T | undefined> => {
    try {
      const value = await call();
      results.set(operation, { operation, actions: ACTIONS[operation], status: 'allowed' });
      return value;
    } catch (error) {
      results.set(operation, refused(operation, error, port.account, arn, context, endpoint));
      return undefined;
    }
  };

  await attempt('DescribeKey', () => port.describe(arn.arn));
  const generated = await attempt('GenerateDataKey', async () => {
    const out = await port.generateDataKey(arn.arn, context);
    out.plaintext.fill(0);
    return out.ciphertext;
  });
  const encrypted = await attempt('Encrypt', async () => {
    const probe = randomBytes(32);
    try {
      return await port.encrypt(arn.arn, probe, context);
    } finally {
      probe.fill(0);
    }
  });
  // Decrypt and ReEncrypt need a ciphertext of this key: the data key's, else the probe's.
  const ciphertext = generated ?? encrypted;
  if (ciphertext === undefined) {
    for (const operation of ['Decrypt', 'ReEncrypt'] as const) {
      results.set(operation, {
        operation,
        actions: ACTIONS[operation],
        status: 'not-tried',
        fix: `Allow kms:GenerateDataKey or kms:Encrypt first: without a ciphertext of this key, kms:${operation} cannot be tried.`,
      });
    }
  } else {
    await attempt('Decrypt', async () => void (await port.decrypt(arn.arn, ciphertext, context)).fill(0));
    await attempt('ReEncrypt', () => port.reEncrypt(arn.arn, arn.arn, ciphertext, context));
  }
  return OPERATIONS.map((o) => results.get(o)!);
}

function refused(operation: Operation, error: unknown, account: string, arn: KeyArn, context: EncryptionContext, endpoint: string): OperationCheck {
  const cause = error instanceof ProviderFailure && error.cause !== undefined ? error.cause : error;
  const f = error instanceof ProviderFailure ? error.failure : failure('KmsUnavailable', String(error));
  return {
    operation,
    actions: ACTIONS[operation],
    status: 'refused',
    awsError: awsErrorCode(cause),
    code: f.code,
    message: f.message,
    fix: fixFor(f, ACTIONS[operation], account, arn, context, endpoint, awsErrorCode(cause)),
  };
}

function awsErrorCode(cause: unknown): string {
  const e = (typeof cause === 'object' && cause !== null ? cause : {}) as { name?: unknown; code?: unknown };
  if (typeof e.name === 'string' && e.name !== '' && e.name !== 'Error') return e.name;
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  return 'UnknownError';
}

function fixFor(f: Failure, actions: readonly string[], account: string, arn: KeyArn, context: EncryptionContext, endpoint: string, awsError: string): string {
  const verbs = actions.join(' and ');
  switch (f.code) {
    case 'KeyAccessDenied':
      return (
        `Add ${verbs} for account ${account} to the key policy (Principal arn:aws:iam::${account}:root) or a grant; ` +
        (actions.includes('kms:DescribeKey')
          ? // AWS evaluates an encryption-context condition as false on a call that carries none.
            'if a statement already allows it, it must not have kms:EncryptionContext conditions, as DescribeKey carries no encryption context.'
          : `if a statement already allows it, make its conditions accept the encryption context ${JSON.stringify(context)}.`)
      );
    case 'KeyDisabled':
      return 'Enable the key in AWS KMS.';
    case 'KeyPendingDeletion':
      return 'Cancel the key deletion in AWS KMS, then enable the key.';
    case 'KeyMaterialUnavailable':
      return 'Import the same key material again in AWS KMS (with an expiration far enough ahead, or none).';
    case 'KeyNotFound':
    case 'KeyDeleted':
      return `Check the key ARN: AWS KMS has no such key in account ${arn.account}, Region ${arn.region}.`;
    case 'UnsupportedKeySpec':
    case 'UnsupportedKeyUsage':
      return 'Use a symmetric encryption key (key spec SYMMETRIC_DEFAULT, key usage ENCRYPT_DECRYPT).';
    case 'KmsThrottled':
    case 'KmsUnavailable':
      return `Run the check again: AWS KMS did not complete the call (${awsError}); if it persists, check that ${endpoint} is a reachable KMS endpoint.`;
    case 'DataTampered':
      return `AWS KMS refused a ciphertext it had just produced; check that nothing between the provider and ${endpoint} alters requests.`;
    default:
      return f.message;
  }
}

export async function doctor(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('doctor', args);
  noPositionals(positionals);
  const keyArn = values['key-arn'];
  if (keyArn === undefined) throw new UsageError('expected --key-arn <arn>, found none');
  const endpoint = values.endpoint === undefined ? undefined : endpointUrl(values.endpoint);
  const provider = values.account === undefined ? undefined : account('account', values.account);
  if (endpoint === undefined) {
    if (provider !== undefined) throw new UsageError('--account: only used with --endpoint, which is missing');
    if (values.tenant !== undefined) throw new UsageError('--tenant: only used with --endpoint, which is missing');
  } else if (provider === undefined) {
    throw new UsageError("--endpoint: expected --account <the provider's 12-digit account ID> too, found none");
  }
  if (values.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(values.region)) {
    throw new UsageError(`--region: expected a Region such as us-east-1, found "${values.region}"`);
  }
  if (values.tenant !== undefined && values.tenant.trim() === '') throw new UsageError('--tenant: expected a tenant ID, found an empty value');

  const report = await examine({
    keyArn,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(provider === undefined ? {} : { account: provider }),
    ...(values.region === undefined ? {} : { region: values.region }),
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
  });
  io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : render(report));
  return report.ok ? 0 : 1;
}

const OK = 'ok  ';
const FAIL = 'FAIL';

export function render(r: DoctorReport): string {
  const lines: string[] = [`key ARN: ${r.keyArn}`];
  const id = r.identifier;
  if (id.ok) {
    lines.push(
      `${OK} identifier: partition ${id.partition}, Region ${id.region}, account ${id.account}, ` + `key ${id.keyId}${id.multiRegion ? ' (multi-Region)' : ''}`,
    );
  } else {
    lines.push(`${FAIL} identifier: ${id.code}${id.field === undefined ? '' : ` in field "${id.field}"`}: ${id.message}`);
  }
  if (r.checked === 'identifier') {
    for (const f of r.findings.filter((f) => f.code === 'KeyRegionMismatch')) lines.push(`${FAIL} ${f.code}: ${f.message}`);
    if (id.ok) lines.push('only the identifier was checked; add --endpoint <url> --account <provider account> to check the key itself');
  } else if (id.ok && r.unreachable !== undefined) {
    lines.push(`${FAIL} endpoint: ${r.unreachable.message}`);
  } else if (id.ok) {
    if (r.key !== undefined) {
      lines.push(`     key: ${r.key.state}, ${r.key.keySpec}, ${r.key.keyUsage}, origin ${r.key.origin}${r.key.multiRegion ? ', multi-Region' : ''}`);
    }
    lines.push(`key validation as account ${r.account} through ${r.endpoint}:`);
    if (r.findings.length === 0) lines.push(`  ${OK} no findings`);
    for (const f of r.findings) lines.push(`  ${FAIL} ${f.code}: ${f.message}`);
    if (r.refusal !== undefined && r.findings.length > 1) lines.push(`  the console would refuse the key with: ${r.refusal.message}`);
    lines.push(`operations as account ${r.account} with encryption context ${JSON.stringify(r.encryptionContext)}:`);
    const width = Math.max(...r.operations.map((o) => o.operation.length)) + 4;
    for (const o of r.operations) {
      const name = `kms:${o.operation}`.padEnd(width);
      if (o.status === 'allowed') lines.push(`  ${OK} ${name} allowed`);
      else if (o.status === 'not-tried') lines.push(`  ${FAIL} ${name} not tried: ${o.fix}`);
      else lines.push(`  ${FAIL} ${name} refused: ${o.awsError} (${o.code}). ${o.fix}`);
    }
  }
  if (r.policyStatements !== undefined) {
    lines.push(`add these statements to the key policy's "Statement" list, so account ${r.account} can use the key:`);
    for (const l of JSON.stringify(r.policyStatements, null, 2).slice(2, -2).split('\n')) lines.push(l);
  }
  const problems = r.unreachable !== undefined ? 1 : r.findings.length + r.operations.filter((o) => o.status !== 'allowed').length;
  const passed = r.checked === 'identifier' ? 'result: the identifier is a usable key ARN' : 'result: every check passed';
  lines.push(r.ok ? passed : `result: ${problems} problem(s); EKM would not work with this key as it is`);
  return `${lines.join('\n')}\n`;
}
