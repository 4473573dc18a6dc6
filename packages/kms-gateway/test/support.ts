import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';

export const REGION = 'us-east-1';

let nextAccount = 100_000_000_000 + Math.floor(Math.random() * 800_000_000_000);
/** A fresh 12-digit account per call, so tests sharing one gateway and LocalStack never meet. */
export function newAccount(): string {
  return String(nextAccount++);
}

export function kmsClient(endpoint: string, account: string, extra: Partial<KMSClientConfig> = {}): KMSClient {
  return new KMSClient({ endpoint, region: REGION, credentials: { accessKeyId: account, secretAccessKey: 'test' }, maxAttempts: 1, ...extra });
}

/** Sends `x-ekm-principal-arn` with every call of this client (signed with the rest, as a caller would). */
export function claimingPrincipal(client: KMSClient, principalArn: string): KMSClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-ekm-principal-arn'] = principalArn;
      return next(args);
    },
    { step: 'build', name: 'claimPrincipal' },
  );
  return client;
}

export function ownerPolicy(owner: string, extra: object[] = []): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' }, ...extra],
  });
}

export interface Failure {
  name: string;
  message: string;
  status: number | undefined;
  fault: string | undefined;
}

export async function failure(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (e) {
    const err = e as { name: string; message: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode, fault: err.$fault };
  }
  throw new Error('expected the call to fail');
}

/** Wraps key material with the public key of a GetParametersForImport answer (RSAES_OAEP_SHA_256). */
export function wrapMaterial(publicKey: Uint8Array, material: Uint8Array): Uint8Array {
  return publicEncrypt(
    { key: createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    material,
  );
}
