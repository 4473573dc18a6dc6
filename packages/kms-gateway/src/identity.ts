import type { IncomingMessage } from 'node:http';
import { KmsError, messages } from './errors.ts';
import { parseAuthorization } from './upstream.ts';

/**
 * Who is calling, from the signing credentials only, as AWS determines it
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html): the access
 * key id names the account (a 12-digit id is the account, as in LocalStack; any other id is
 * LocalStack's default account). A principal ARN may stand behind an access key, from
 * `principals.set` or the `x-ekm-principal-arn` header, but only a principal of that same
 * account: an access key can never act as another account (its root included).
 */
export interface Caller {
  accessKeyId: string;
  account: string;
  region: string;
  principalArn: string;
  viaService?: string | undefined;
  grantIsForAwsResource?: string | undefined;
  userAgent: string;
  sourceIp: string;
}

/** Headers a caller may send to describe itself; AWS would know these from IAM and the calling service. */
export const HEADERS = {
  principalArn: 'x-ekm-principal-arn',
  viaService: 'x-ekm-via-service',
  grantIsForAwsResource: 'x-ekm-grant-is-for-aws-resource',
} as const;

const DEFAULT_ACCOUNT = '000000000000';
const PRINCIPAL_ARN = /^arn:aws:(?:iam::(\d{12}):(?:root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|sts::(\d{12}):(?:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+|federated-user\/[\w+=,.@-]+))$/;

export function accountOfAccessKey(accessKeyId: string): string {
  return /^\d{12}$/.test(accessKeyId) ? accessKeyId : DEFAULT_ACCOUNT;
}

/** The account of an IAM/STS principal ARN, or undefined when it is not one. */
export function accountOfPrincipal(arn: string): string | undefined {
  const m = PRINCIPAL_ARN.exec(arn);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Why a principal cannot stand behind an access key, or undefined when it can. */
export function principalProblem(accessKeyId: string, principalArn: string): string | undefined {
  const account = accountOfAccessKey(accessKeyId);
  const of = accountOfPrincipal(principalArn);
  if (of === undefined) return `'${principalArn}' is not an IAM or STS principal ARN (arn:aws:iam::<account>:role/<name>, ...)`;
  if (of !== account) return `'${principalArn}' belongs to account ${of}, not to access key ${accessKeyId}'s account ${account}`;
  return undefined;
}

export function callerOf(req: IncomingMessage, principals: ReadonlyMap<string, string>, defaultRegion: string): Caller {
  const authorization = header(req, 'authorization');
  if (authorization === undefined) throw new KmsError('MissingAuthenticationTokenException', messages.missingAuthentication());
  const auth = parseAuthorization(authorization);
  if (auth === undefined) throw new KmsError('UnrecognizedClientException', messages.unrecognizedClient());
  const account = accountOfAccessKey(auth.accessKeyId);
  const claimed = header(req, HEADERS.principalArn) ?? principals.get(auth.accessKeyId);
  // A claim the credentials do not back is what AWS answers for credentials it does not recognise.
  if (claimed !== undefined && principalProblem(auth.accessKeyId, claimed) !== undefined) {
    throw new KmsError('UnrecognizedClientException', messages.unrecognizedClient());
  }
  return {
    accessKeyId: auth.accessKeyId,
    account,
    region: auth.region || defaultRegion,
    principalArn: claimed ?? `arn:aws:iam::${account}:root`,
    viaService: header(req, HEADERS.viaService),
    grantIsForAwsResource: header(req, HEADERS.grantIsForAwsResource),
    userAgent: header(req, 'user-agent') ?? '',
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
  };
}

export function identityType(arn: string): 'Root' | 'IAMUser' | 'AssumedRole' {
  if (arn.endsWith(':root')) return 'Root';
  if (arn.includes(':user/')) return 'IAMUser';
  return 'AssumedRole';
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
