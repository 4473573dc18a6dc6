import { failure, type Failure } from '@ekm/domain';

/**
 * The provider's own reading of what a customer pastes into the key ARN field (EKM-03). It is
 * written apart from the domain model's parser on purpose: the conformance suite compares the
 * two, so a mistake in one shows up as a disagreement instead of being shared.
 */
export interface KeyArn {
  readonly arn: string;
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly keyId: string;
  /** Multi-Region key ids start with `mrk-` (EKM-04). */
  readonly multiRegion: boolean;
}

export type ArnParse = { readonly ok: true; readonly arn: KeyArn } | { readonly ok: false; readonly failure: Failure };

const EXAMPLE = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const HINT = `Enter the key ARN as AWS KMS shows it, e.g. ${EXAMPLE}.`;

/** Partition → what its Region names look like. */
const PARTITIONS: Readonly<Record<string, (region: string) => boolean>> = {
  aws: (r) => !r.startsWith('cn-') && !r.startsWith('us-gov-'),
  'aws-cn': (r) => r.startsWith('cn-'),
  'aws-us-gov': (r) => r.startsWith('us-gov-'),
};

const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const REGION_NAME = /^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$/;

/** Identifiers of key stores the provider does not support, each with the name the refusal gives it. */
const FOREIGN: readonly { readonly test: RegExp; readonly what: string }[] = [
  {
    test: /^(?:https?:\/\/)?[^/\s]+\.managedhsm\.(?:azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)(?:\/|$)/i,
    what: 'an Azure Key Vault Managed HSM key (Microsoft Azure)',
  },
  {
    test: /^(?:https?:\/\/)?[^/\s]+\.vault\.(?:azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)(?:\/|$)/i,
    what: 'an Azure Key Vault key (Microsoft Azure)',
  },
  { test: /(?:^|\/)projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+/, what: 'a Google Cloud KMS key' },
];

/** Repeats a piece of the input safely: escaped, and cut when long. */
function quote(text: string): string {
  const safe = JSON.stringify(text).slice(1, -1);
  return safe.length > 80 ? `"${safe.slice(0, 80)}…" (${text.length} characters)` : `"${safe}"`;
}

function refuse(code: 'InvalidKeyArn' | 'AliasNotAccepted' | 'UnsupportedKeyLocation', message: string, field: string): ArnParse {
  return { ok: false, failure: failure(code, message, field) };
}

function isIdentifier(piece: string): boolean {
  const p = piece.replace(/^["'`]+|["'`]+$/g, '');
  return /^arn:/i.test(p) || p.startsWith('alias/') || KEY_ID.test(p.toLowerCase()) || FOREIGN.some((f) => f.test.test(p));
}

/** Parses one key ARN; every refusal names what is wrong, where, and what to enter instead. */
export function parseKeyArn(input: string): ArnParse {
  const text = input.trim();
  if (text.length === 0) return refuse('InvalidKeyArn', `The key ARN field is empty. ${HINT}`, 'arn');

  const values = text.split(/[\s,;]+/).filter(isIdentifier);
  if (values.length > 1) return refuse('InvalidKeyArn', `${values.length} values were entered; enter exactly one key ARN.`, 'arn');

  const foreign = FOREIGN.find((f) => f.test.test(text));
  if (foreign !== undefined) return refuse('UnsupportedKeyLocation', `This is ${foreign.what}; only AWS KMS keys are supported. ${HINT}`, 'arn');
  if (text.startsWith('alias/')) return refuse('AliasNotAccepted', `${quote(text)} is an alias, and an alias can later point to another key. ${HINT}`, 'arn');
  if (KEY_ID.test(text.toLowerCase())) {
    return refuse('InvalidKeyArn', `${quote(text)} is a key ID, not a key ARN: the ARN names the partition, Region and account too. ${HINT}`, 'arn');
  }

  const [scheme, partition, service, region, account, ...tail] = text.split(':');
  if (scheme !== 'arn' || (service !== 'kms' && tail.length === 0)) return refuse('InvalidKeyArn', `This is not an ARN. ${HINT}`, 'arn');
  const strange = [...new Set(text.replace(/[A-Za-z0-9:/_.-]/g, ''))];
  if (strange.length > 0) {
    const shown = strange.map((c) => (/^[\x21-\x7e]$/.test(c) ? c : JSON.stringify(c))).join(' ');
    return refuse('InvalidKeyArn', `${quote(text)} has characters no key ARN has (${shown}); paste the ARN alone. ${HINT}`, 'arn');
  }
  const inRegion = partition === undefined ? undefined : PARTITIONS[partition];
  if (inRegion === undefined) return refuse('InvalidKeyArn', `The partition ${quote(partition ?? '')} is not aws, aws-cn or aws-us-gov. ${HINT}`, 'partition');
  if (service !== 'kms') {
    return refuse(
      'InvalidKeyArn',
      `This ARN is of ${service === '' || service === undefined ? 'no service' : `the ${quote(service)} service`}, not of an AWS KMS key. ${HINT}`,
      'service',
    );
  }
  const resource = tail.join(':');
  if (resource.startsWith('alias/'))
    return refuse('AliasNotAccepted', `This is the ARN of an alias, which can later point to another key. ${HINT}`, 'resource');
  if (region === undefined || region === '') return refuse('InvalidKeyArn', `The Region is missing between "kms:" and the account. ${HINT}`, 'region');
  if (!REGION_NAME.test(region) || !inRegion(region))
    return refuse('InvalidKeyArn', `${quote(region)} is not a Region of the ${partition} partition. ${HINT}`, 'region');
  if (account === undefined || account === '') return refuse('InvalidKeyArn', `The account ID is missing between the Region and the key. ${HINT}`, 'account');
  if (!/^[0-9]{12}$/.test(account)) return refuse('InvalidKeyArn', `The account ${quote(account)} is not a 12-digit AWS account ID. ${HINT}`, 'account');
  if (resource === '' || resource === 'key' || resource === 'key/')
    return refuse('InvalidKeyArn', `The key ID is missing: the ARN ends in key/<key id>. ${HINT}`, 'resource');
  const keyId = resource.startsWith('key/') ? resource.slice('key/'.length) : '';
  if (!KEY_ID.test(keyId)) {
    if (KEY_ID.test(keyId.toLowerCase())) {
      return refuse(
        'InvalidKeyArn',
        `The key ID ${quote(keyId)} has upper-case letters; AWS KMS key IDs are lower case: key/${keyId.toLowerCase()}.`,
        'resource',
      );
    }
    return refuse(
      'InvalidKeyArn',
      `The resource ${quote(resource)} is not key/<key id> (a UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab, or mrk- and 32 hex digits). ${HINT}`,
      'resource',
    );
  }
  return { ok: true, arn: { arn: text, partition: partition as string, region, account, keyId, multiRegion: keyId.startsWith('mrk-') } };
}
