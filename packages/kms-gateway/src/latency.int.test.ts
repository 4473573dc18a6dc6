import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type {} from '@ekm/localstack/vitest-setup';
import { startKmsGateway, type KmsGateway } from './index.ts';

/**
 * The gateway's added latency per call, measured against LocalStack directly in the
 * same run, interleaved so both see the same load. The bound is loose on purpose (the
 * machine is shared); the medians are printed for the issue note.
 */
const ROUNDS = 150;
let gateway: KmsGateway;

beforeAll(async () => {
  gateway = await startKmsGateway({ localstackEndpoint: inject('localstackEndpoint') });
});
afterAll(async () => gateway?.close());

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

it('[EKM-11] the gateway adds little latency per call compared with LocalStack directly', async () => {
  const owner = String(200_000_000_000 + Math.floor(Math.random() * 700_000_000_000));
  const provider = String(Number(owner) + 1);
  const config = { region: 'us-east-1', maxAttempts: 1 };
  const direct = new KMSClient({ ...config, endpoint: inject('localstackEndpoint'), credentials: { accessKeyId: owner, secretAccessKey: 'x' } });
  const viaGateway = new KMSClient({ ...config, endpoint: gateway.endpoint, credentials: { accessKeyId: owner, secretAccessKey: 'x' } });
  const crossAccount = new KMSClient({ ...config, endpoint: gateway.endpoint, credentials: { accessKeyId: provider, secretAccessKey: 'x' } });
  const policy = JSON.stringify({
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Allow', Principal: { AWS: provider }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'tenant-key' } } },
    ],
  });
  const arn = (await viaGateway.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.Arn!;
  const EncryptionContext = { tenant: 't', purpose: 'tenant-key' };
  const { CiphertextBlob } = await direct.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext }));
  const times = { direct: { gdk: [] as number[], dec: [] as number[] }, gateway: { gdk: [] as number[], dec: [] as number[] }, cross: { gdk: [] as number[], dec: [] as number[] } };
  const clients = { direct, gateway: viaGateway, cross: crossAccount };
  const timed = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  for (let i = 0; i < ROUNDS; i++) {
    const order = (['direct', 'gateway', 'cross'] as const).slice();
    if (i % 2 === 1) order.reverse();
    for (const who of order) {
      const c = clients[who];
      times[who].gdk.push(await timed(() => c.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext }))));
      times[who].dec.push(await timed(() => c.send(new DecryptCommand({ CiphertextBlob, EncryptionContext }))));
    }
  }
  const warm = (xs: number[]) => xs.slice(10);
  const report = Object.fromEntries(
    (['direct', 'gateway', 'cross'] as const).map((who) => [who, { GenerateDataKey: median(warm(times[who].gdk)), Decrypt: median(warm(times[who].dec)) }]),
  );
  const added = {
    GenerateDataKey: report['gateway']!.GenerateDataKey - report['direct']!.GenerateDataKey,
    Decrypt: report['gateway']!.Decrypt - report['direct']!.Decrypt,
    crossAccountDecrypt: report['cross']!.Decrypt - report['direct']!.Decrypt,
  };
  console.log(`kms-gateway latency, medians over ${ROUNDS - 10} warm calls (ms): ${JSON.stringify({ ...report, added }, (_, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);
  expect(added.GenerateDataKey).toBeLessThan(25);
  expect(added.Decrypt).toBeLessThan(25);
  expect(added.crossAccountDecrypt).toBeLessThan(25);
}, 120_000);
