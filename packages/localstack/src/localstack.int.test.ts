import { CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, inject, it } from 'vitest';

const customer = '111122223333';
const provider = '444455556666';

function kms(account: string): KMSClient {
  return new KMSClient({
    endpoint: inject('localstackEndpoint'),
    region: 'us-east-1',
    // LocalStack takes the caller's account from a 12-digit access key id.
    credentials: { accessKeyId: account, secretAccessKey: 'test' },
  });
}

describe('LocalStack KMS started by the project', () => {
  it('[EKM-11] the provider account encrypts and decrypts with the customer key ARN; [EKM-12] a disabled key refuses', async () => {
    const owner = kms(customer);
    const user = kms(provider);
    const { KeyMetadata } = await owner.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }));
    const arn = KeyMetadata!.Arn!;
    expect(arn).toMatch(new RegExp(`^arn:aws:kms:us-east-1:${customer}:key/[0-9a-f-]{36}$`));

    const context = { tenant: 't-1', purpose: 'probe' };
    const sealed = await user.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('hello'), EncryptionContext: context }));
    const opened = await user.send(new DecryptCommand({ KeyId: arn, CiphertextBlob: sealed.CiphertextBlob!, EncryptionContext: context }));
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('hello');
    expect(opened.KeyId).toBe(arn);

    await owner.send(new DisableKeyCommand({ KeyId: arn }));
    const refused = user.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    await expect(refused).rejects.toMatchObject({ name: 'DisabledException', message: `${arn} is disabled.` });
  });
});
