import { randomBytes } from 'node:crypto';
import { failure, type Failure } from '@ekm/domain';
import { parseKeyArn, type KeyArn } from './arn.ts';
import { classify } from './classify.ts';
import { ProviderFailure } from './failure-error.ts';
import type { KeyDescription, KeyPort } from './port.ts';

export const VALIDATION_PURPOSE = 'key-validation';

/** The outcome of submitting a key ARN (EKM-06): every finding, each with its code and a customer sentence. */
export interface Validation {
  readonly ok: boolean;
  readonly arn?: KeyArn;
  readonly key?: KeyDescription;
  readonly findings: readonly Failure[];
}

export interface ValidateOptions {
  /** Regions the provider stores data in; a key elsewhere is refused (KeyRegionMismatch). */
  readonly regions: readonly string[];
}

const USABLE_ORIGINS = new Set(['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']);

/**
 * Validates a key ARN by using the key from the provider's account: parse, DescribeKey,
 * then a GenerateDataKey + Decrypt round trip with the validation encryption context.
 * It changes nothing; the caller stores the ARN only when `ok` (EKM-06, EKM-14).
 */
export async function validateKey(port: KeyPort, input: string, options: ValidateOptions): Promise<Validation> {
  const parsed = parseKeyArn(input);
  if (!parsed.ok) return { ok: false, findings: [parsed.failure] };
  const arn = parsed.arn;
  const findings: Failure[] = [];
  // Every problem once: each action the key policy withholds is its own finding (one sentence
  // each), each other condition once however many calls met it.
  const add = (f: Failure) => {
    const same = (x: Failure) => x.code === f.code && (f.code !== 'KeyAccessDenied' || x.message === f.message);
    if (!findings.some(same)) findings.push(f);
  };

  if (!options.regions.includes(arn.region)) {
    add(failure('KeyRegionMismatch', `The key is in ${arn.region}; use a key in ${options.regions.join(' or ')}, where your backups are stored.`, 'region'));
  }

  let key: KeyDescription | undefined;
  try {
    key = await port.describe(arn.arn);
  } catch (error) {
    // kms:DescribeKey is required (the provider reads the key's state and type with it), so its
    // refusal is a finding; the round trip still runs, to name every other missing action too.
    add(asFailure(error, arn.arn, port.account, 'DescribeKey'));
  }
  if (key !== undefined) for (const f of describeFindings(key, arn)) add(f);

  const refusedByType = findings.some((f) => f.code === 'UnsupportedKeySpec' || f.code === 'UnsupportedKeyUsage' || f.code === 'KeyNotFound');
  if (!refusedByType) {
    for (const f of await roundTrip(port, arn.arn)) add(f);
  }
  return { ok: findings.length === 0, arn, ...(key === undefined ? {} : { key }), findings };
}

function describeFindings(key: KeyDescription, arn: KeyArn): Failure[] {
  const out: Failure[] = [];
  switch (key.state) {
    case 'Enabled':
      break;
    case 'Disabled':
      out.push(failure('KeyDisabled', 'The key is disabled; enable it in AWS KMS and submit the ARN again.', arn.arn));
      break;
    case 'PendingDeletion':
    case 'PendingReplicaDeletion':
      out.push(failure('KeyPendingDeletion', 'The key is scheduled for deletion; cancel the deletion in AWS KMS and submit the ARN again.', arn.arn));
      break;
    case 'PendingImport':
      out.push(failure('KeyMaterialUnavailable', 'The key has no key material; import it in AWS KMS and submit the ARN again.', arn.arn));
      break;
    default:
      out.push(failure('KmsUnavailable', `The key is ${key.state}; try again when it is Enabled.`, arn.arn));
  }
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    out.push(failure('UnsupportedKeySpec', `The key spec is ${key.keySpec}; create a symmetric key (SYMMETRIC_DEFAULT).`, arn.arn));
  }
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') {
    out.push(failure('UnsupportedKeyUsage', `The key usage is ${key.keyUsage}; create the key for Encrypt and decrypt (ENCRYPT_DECRYPT).`, arn.arn));
  }
  if (!USABLE_ORIGINS.has(key.origin)) {
    out.push(failure('UnsupportedKeyLocation', `The key origin ${key.origin} is not supported.`, arn.arn));
  }
  const region = key.arn.split(':')[3];
  if (region !== undefined && region !== arn.region) {
    out.push(failure('KeyRegionMismatch', `AWS KMS reports the key in ${region}, not ${arn.region}.`, 'region'));
  }
  return out;
}

async function roundTrip(port: KeyPort, keyArn: string): Promise<Failure[]> {
  const context = { purpose: VALIDATION_PURPOSE, account: port.account };
  let generated: { plaintext: Uint8Array; ciphertext: Uint8Array };
  try {
    generated = await port.generateDataKey(keyArn, context);
  } catch (error) {
    const refused = asFailure(error, keyArn, port.account, 'GenerateDataKey');
    if (refused.kind === 'transient') return [refused];
    // Without a data key, a probe from kms:Encrypt still lets kms:Decrypt be tried, so a policy
    // missing both actions is refused naming both.
    return [refused, ...(await probeDecrypt(port, keyArn, context))];
  }
  try {
    const back = await port.decrypt(keyArn, generated.ciphertext, context);
    const same = Buffer.from(back).equals(Buffer.from(generated.plaintext));
    back.fill(0);
    return same ? [] : [failure('DataTampered', 'AWS KMS returned a different data key on Decrypt than on GenerateDataKey.', keyArn)];
  } catch (error) {
    return [asFailure(error, keyArn, port.account, 'Decrypt', false)];
  } finally {
    generated.plaintext.fill(0);
  }
}

/** Decrypt tried on a ciphertext of a random probe; no finding when Encrypt itself is refused (Decrypt then cannot be tried). */
async function probeDecrypt(port: KeyPort, keyArn: string, context: Record<string, string>): Promise<Failure[]> {
  const probe = new Uint8Array(randomBytes(32));
  let ciphertext: Uint8Array;
  try {
    ciphertext = await port.encrypt(keyArn, probe, context);
  } catch {
    probe.fill(0);
    return [];
  }
  try {
    (await port.decrypt(keyArn, ciphertext, context)).fill(0);
    return [];
  } catch (error) {
    return [asFailure(error, keyArn, port.account, 'Decrypt', false)];
  } finally {
    probe.fill(0);
  }
}

/**
 * One refusal that names every finding, in the customer's words first: the actions a key
 * policy withholds in one sentence, then each other problem's own sentence. `code` is the
 * refusal's code (default: the first finding's); the findings stay available one by one.
 */
export function refusalOf(findings: readonly Failure[], code?: Failure['code']): Failure | undefined {
  if (findings.length === 0) return undefined;
  const lead = findings.find((f) => f.code === code) ?? findings[0]!;
  const denied = findings.filter((f) => f.code === 'KeyAccessDenied');
  const actions = [...new Set(denied.flatMap((f) => [...f.message.matchAll(/kms:[A-Z][A-Za-z*]+/g)].map((m) => m[0])))];
  const deniedSentence =
    denied.length <= 1 || actions.length !== denied.length
      ? denied.map((f) => f.message)
      : [denied[0]!.message.replace(/kms:[A-Z][A-Za-z*]+\.?$/, `${actions.join(', ')}.`)];
  const sentences = [...new Set([...deniedSentence, ...findings.filter((f) => f.code !== 'KeyAccessDenied').map((f) => f.message)])];
  const message =
    findings.length === 1 ? lead.message : `${sentences.join(' ')} (${findings.length} problems: ${[...new Set(findings.map((f) => f.code))].join(', ')}.)`;
  return { ...failure(lead.code, message), ...(lead.field === undefined ? {} : { field: lead.field }) };
}

/** Re-classifies with the validation's own context: a key that is missing now was never there (input, not deleted). */
function asFailure(error: unknown, keyArn: string, account: string, operation: string, keyKnown = false): Failure {
  const cause = error instanceof ProviderFailure && error.cause !== undefined ? error.cause : error;
  return classify(cause, { operation, keyArn, account, keyKnown });
}
