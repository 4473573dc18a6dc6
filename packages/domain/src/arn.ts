import { failure, type Failure } from './failures.ts';

/** A parsed AWS KMS key ARN; `resource` is the key id (`<uuid>` or multi-Region `mrk-<32 hex>`). */
export interface KeyArn {
  readonly arn: string;
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly keyId: string;
  readonly multiRegion: boolean;
}

const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const AZURE = /^https:\/\/[^/]+\.(?:vault\.azure\.net|managedhsm\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net)\//i;
const GCP = /^(?:gcp-kms:\/\/)?projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+/;

/**
 * Parses what a customer pastes into the key ARN field (EKM-03). The reason names what is
 * wrong, so the console can say what to change; `field` is the ARN part at fault.
 * No look-up happens here: whether the key exists and is usable is the key's condition.
 * The order of checks and the codes follow `parseKeyArn` in @ekm/kms, so model and provider agree.
 */
export function parseKeyArn(input: string): { ok: true; value: KeyArn } | { ok: false; failure: Failure } {
  const text = input.trim();
  if (text.split(/[\s,;]+/).filter((p) => p !== '').length > 1) {
    return { ok: false, failure: failure('InvalidKeyArn', 'enter exactly one key ARN', 'arn') };
  }
  if (AZURE.test(text)) {
    return { ok: false, failure: failure('UnsupportedKeyLocation', 'Azure Key Vault keys are not supported; use an AWS KMS key ARN', 'arn') };
  }
  if (GCP.test(text)) {
    return { ok: false, failure: failure('UnsupportedKeyLocation', 'Google Cloud KMS keys are not supported; use an AWS KMS key ARN', 'arn') };
  }
  if (/^alias\//.test(text)) {
    return { ok: false, failure: failure('AliasNotAccepted', 'an alias names a key indirectly; give the key ARN (arn:aws:kms:<region>:<account>:key/<id>)', 'arn') };
  }
  if (KEY_ID.test(text)) {
    return { ok: false, failure: failure('InvalidKeyArn', 'a bare key id is not enough; give the full key ARN', 'arn') };
  }
  const parts = text.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') {
    return { ok: false, failure: failure('InvalidKeyArn', 'not an ARN; expected arn:aws:kms:<region>:<account>:key/<id>', 'arn') };
  }
  const [, partition = '', service = '', region = '', account = ''] = parts;
  const resource = parts.slice(5).join(':');
  if (!/^aws(?:-cn|-us-gov)?$/.test(partition)) {
    return { ok: false, failure: failure('InvalidKeyArn', `unknown AWS partition "${partition}"`, 'partition') };
  }
  if (service !== 'kms') {
    return { ok: false, failure: failure('InvalidKeyArn', `this is an ARN of the ${service || 'unnamed'} service, not of an AWS KMS key`, 'service') };
  }
  if (resource.startsWith('alias/')) {
    return { ok: false, failure: failure('AliasNotAccepted', 'an alias ARN names a key indirectly; give the key ARN (…:key/<id>)', 'resource') };
  }
  if (!REGION.test(region) || !regionFitsPartition(partition, region)) {
    return { ok: false, failure: failure('InvalidKeyArn', `"${region}" is not a region of the ${partition} partition`, 'region') };
  }
  if (!/^\d{12}$/.test(account)) {
    return { ok: false, failure: failure('InvalidKeyArn', 'the account part of the ARN must be 12 digits', 'account') };
  }
  const keyId = resource.startsWith('key/') ? resource.slice('key/'.length) : undefined;
  if (keyId === undefined || !KEY_ID.test(keyId)) {
    return { ok: false, failure: failure('InvalidKeyArn', 'the resource part must be key/<key id>', 'resource') };
  }
  return {
    ok: true,
    value: { arn: text, partition, region, account, keyId, multiRegion: keyId.startsWith('mrk-') },
  };
}

function regionFitsPartition(partition: string, region: string): boolean {
  if (partition === 'aws-cn') return region.startsWith('cn-');
  if (partition === 'aws-us-gov') return region.startsWith('us-gov-');
  return !region.startsWith('cn-') && !region.startsWith('us-gov-');
}
