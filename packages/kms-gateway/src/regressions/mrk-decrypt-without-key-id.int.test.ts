/**
 * Regression: Decrypt without KeyId, in the Region of a multi-Region replica, of a ciphertext
 * made under its primary answered `NotFoundException Invalid arn us-east-1`: the gateway routed
 * the blob by key id alone, and a multi-Region key's id is the same in every Region.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import type {} from '@ekm/localstack/vitest-setup';
import { kmsClient, newAccount, ownerPolicy } from '../../test/support.ts';
import { startKmsGateway, type KmsGateway } from '../index.ts';

let gateway: KmsGateway;
beforeAll(async () => {
  gateway = await startKmsGateway({ localstackEndpoint: inject('localstackEndpoint') });
});
afterAll(async () => {
  await gateway?.close();
});

// https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
it('a ciphertext of a multi-Region primary decrypts without KeyId in the replica’s Region, under the replica', async () => {
  const owner = newAccount();
  const us = kmsClient(gateway.endpoint, owner);
  const eu = kmsClient(gateway.endpoint, owner, { region: 'eu-west-1' });
  const { KeyMetadata } = await us.send(new CreateKeyCommand({ Policy: ownerPolicy(owner), MultiRegion: true }));
  const { ReplicaKeyMetadata } = await us.send(new ReplicateKeyCommand({ KeyId: KeyMetadata!.Arn, ReplicaRegion: 'eu-west-1', Policy: ownerPolicy(owner) }));
  const { CiphertextBlob } = await us.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: Buffer.from('across'), EncryptionContext: { tenant: 't1' } }));
  const there = await eu.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { tenant: 't1' } }));
  expect(there.KeyId).toBe(ReplicaKeyMetadata!.Arn);
  expect(Buffer.from(there.Plaintext!).toString()).toBe('across');
  await expect(us.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { tenant: 't1' } }))).resolves.toMatchObject({ KeyId: KeyMetadata!.Arn });
});
