import { failure, type Failure } from './failures.ts';

/** A parsed AWS KMS key ARN: the only identifier a customer may submit (EKM-03). */
export interface KeyArn {
  readonly arn: string;
  readonly partition: 'aws' | 'aws-us-gov' | 'aws-cn';
  readonly region: string;
  readonly account: string;
  /** `<uuid>` or `mrk-<32 hex>`; a multi-Region key id starts with `mrk-` (EKM-04). */
  readonly keyId: string;
  readonly multiRegion: boolean;
}

export type ArnParse = { readonly ok: true; readonly arn: KeyArn } | { readonly ok: false; readonly failure: Failure };

const PARTITIONS = ['aws', 'aws-us-gov', 'aws-cn'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MRK = /^mrk-[0-9a-f]{32}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
// Azure Key Vault and Managed HSM in every Azure cloud (public, China, US Gov, Germany).
const AZURE = /^(https?:\/\/)?[^/\s]+\.(vault|managedhsm)\.(azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)(\/|$)/i;
const GOOGLE = /^(gcp-kms:\/\/|\/\/cloudkms\.googleapis\.com\/(v1\/)?|https:\/\/cloudkms\.googleapis\.com\/v1\/)?projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+/;

/** Longest piece of the input a message repeats: the console shows messages as is. */
const CLIP = 80;

/** A piece of hostile input made fit to repeat in a message: control characters escaped, long text cut. */
function clip(value: string): string {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped.length <= CLIP ? escaped : `${escaped.slice(0, CLIP)}… (${value.length} characters)`;
}

const USE_KEY_ARN = 'Use the key ARN, for example arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab.';

/**
 * Parses what a customer pasted into the key ARN field. Surrounding whitespace is
 * ignored; everything else is checked and every refusal says what is wrong and what to
 * enter instead, because the console shows the message as is (EKM-03, EKM-06).
 */
export function parseKeyArn(input: string): ArnParse {
  const text = input.trim();
  const refuse = (f: Failure): ArnParse => ({ ok: false, failure: f });
  if (text === '') {
    return refuse(failure('InvalidKeyArn', `The key ARN is empty. ${USE_KEY_ARN}`, 'arn'));
  }
  // Several values only when several pieces are identifiers: a quote or a semicolon inside one
  // malformed ARN is one bad value, not many.
  const parts = text.split(/[\s,;]+/).filter((p) => p !== '');
  const identifiers = parts.filter(looksLikeIdentifier);
  if (identifiers.length > 1) {
    return refuse(failure('InvalidKeyArn', `Enter exactly one key ARN; ${identifiers.length} values were given.`, 'arn'));
  }
  if (AZURE.test(text)) {
    const what = /managedhsm/i.test(text) ? 'an Azure Key Vault Managed HSM key' : 'an Azure Key Vault key';
    return refuse(
      failure('UnsupportedKeyLocation', `This is ${what} (Microsoft Azure); only AWS KMS keys are supported. ${USE_KEY_ARN}`, 'arn'),
    );
  }
  if (GOOGLE.test(text)) {
    return refuse(
      failure('UnsupportedKeyLocation', `This is a Google Cloud KMS key; only AWS KMS keys are supported. ${USE_KEY_ARN}`, 'arn'),
    );
  }
  if (/^alias\//.test(text)) {
    return refuse(
      failure('AliasNotAccepted', `"${clip(text)}" is an alias, which can later point to another key. ${USE_KEY_ARN}`, 'arn'),
    );
  }
  if (UUID.test(text.toLowerCase()) || MRK.test(text.toLowerCase())) {
    return refuse(
      failure('InvalidKeyArn', `"${clip(text)}" is a key ID, not a key ARN; the ARN also names the partition, Region and account. ${USE_KEY_ARN}`, 'arn'),
    );
  }
  const fields = text.split(':');
  // A KMS ARN cut short is missing its last parts: name them rather than call it "not an ARN".
  if (fields[0] === 'arn' && fields[2] === 'kms') while (fields.length < 6) fields.push('');
  if (fields[0] !== 'arn' || fields.length < 6) {
    return refuse(failure('InvalidKeyArn', `This is not an ARN. ${USE_KEY_ARN}`, 'arn'));
  }
  const odd = [...new Set(text.match(/[^A-Za-z0-9:/_.-]/g) ?? [])];
  if (odd.length > 0) {
    const shown = odd.map((c) => (c.trim() === '' ? JSON.stringify(c) : c)).join(' ');
    return refuse(
      failure('InvalidKeyArn', `"${clip(text)}" is one malformed key ARN: it holds characters a key ARN never has (${shown}). Paste the ARN alone, as AWS KMS shows it. ${USE_KEY_ARN}`, 'arn'),
    );
  }
  const [, partition = '', service = '', region = '', account = ''] = fields;
  const resource = fields.slice(5).join(':');
  if (!(PARTITIONS as readonly string[]).includes(partition)) {
    return refuse(
      failure('InvalidKeyArn', `The partition "${clip(partition)}" is not one of aws, aws-us-gov, aws-cn. ${USE_KEY_ARN}`, 'partition'),
    );
  }
  if (service !== 'kms') {
    return refuse(
      failure('InvalidKeyArn', `This is an ARN of ${service === '' ? 'no service' : `the ${clip(service)} service`}, not of an AWS KMS key. ${USE_KEY_ARN}`, 'service'),
    );
  }
  if (resource.startsWith('alias/')) {
    return refuse(failure('AliasNotAccepted', `This is an alias ARN; an alias can later point to another key. ${USE_KEY_ARN}`, 'resource'));
  }
  if (region === '') {
    return refuse(failure('InvalidKeyArn', `The Region is missing: the ARN has nothing between "kms:" and the account. ${USE_KEY_ARN}`, 'region'));
  }
  if (!REGION.test(region) || !regionFitsPartition(partition as KeyArn['partition'], region)) {
    return refuse(
      failure('InvalidKeyArn', `"${clip(region)}" is not a Region of the ${partition} partition. ${USE_KEY_ARN}`, 'region'),
    );
  }
  if (account === '') {
    return refuse(failure('InvalidKeyArn', `The account ID is missing: the ARN has nothing between the Region and the key. ${USE_KEY_ARN}`, 'account'));
  }
  if (!ACCOUNT.test(account)) {
    return refuse(failure('InvalidKeyArn', `The account "${clip(account)}" is not a 12-digit AWS account ID. ${USE_KEY_ARN}`, 'account'));
  }
  const keyId = resource.startsWith('key/') ? resource.slice(4) : undefined;
  if (resource === '' || resource === 'key' || keyId === '') {
    return refuse(failure('InvalidKeyArn', `The key ID is missing: the ARN must end in key/<key id>. ${USE_KEY_ARN}`, 'resource'));
  }
  if (keyId !== undefined && keyId !== keyId.toLowerCase() && (UUID.test(keyId.toLowerCase()) || MRK.test(keyId.toLowerCase()))) {
    return refuse(
      failure('InvalidKeyArn', `The key ID "${clip(keyId)}" has upper-case letters; AWS KMS key IDs are lower case: use key/${keyId.toLowerCase()}.`, 'resource'),
    );
  }
  if (keyId === undefined || !(UUID.test(keyId) || MRK.test(keyId))) {
    return refuse(
      failure('InvalidKeyArn', `The resource "${clip(resource)}" is not key/<key id> with a key ID such as 1234abcd-12ab-34cd-56ef-1234567890ab or mrk-<32 hex digits>. ${USE_KEY_ARN}`, 'resource'),
    );
  }
  return {
    ok: true,
    arn: { arn: text, partition: partition as KeyArn['partition'], region, account, keyId, multiRegion: keyId.startsWith('mrk-') },
  };
}

/** A piece of pasted text that is itself a key identifier of some kind (so two of them are two values). */
function looksLikeIdentifier(piece: string): boolean {
  const p = piece.replace(/^["'`]+|["'`]+$/g, '');
  return /^arn:/i.test(p) || /^alias\//.test(p) || UUID.test(p.toLowerCase()) || MRK.test(p.toLowerCase()) || AZURE.test(p) || GOOGLE.test(p);
}

function regionFitsPartition(partition: KeyArn['partition'], region: string): boolean {
  if (partition === 'aws-cn') return region.startsWith('cn-');
  if (partition === 'aws-us-gov') return region.startsWith('us-gov-');
  return !region.startsWith('cn-') && !region.startsWith('us-gov-');
}
