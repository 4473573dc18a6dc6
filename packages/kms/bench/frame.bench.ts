/**
 * Chooses SNAPSHOT_FRAME_LENGTH: ESDK encrypt + decrypt (committing suite, raw AES
 * keyring) at several frame sizes, against raw node:crypto AES-256-GCM as the ceiling.
 * Run: pnpm --filter @ekm/kms bench
 */
import { bench, describe } from 'vitest';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { SNAPSHOT_SUITE } from '../src/snapshot.ts';

const { encrypt, decrypt, encryptStream, decryptUnsignedMessageStream } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const MIB = 1024 * 1024;
const SIZE = Number(process.env.EKM_BENCH_MIB ?? 8) * MIB;
const data = randomBytes(SIZE);
const wrappingKey = new Uint8Array(32);
wrappingKey.set(randomBytes(32));
const keyring = new RawAesKeyringNode({
  keyNamespace: 'bench',
  keyName: 'tenant/bench/v1',
  unencryptedMasterKey: wrappingKey,
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const encryptionContext = { tenant: 'bench', snapshot: 's', purpose: 'snapshot-data' };
const options = { time: 1500, iterations: 4, warmupIterations: 1 };

describe(`encrypt + decrypt ${SIZE / MIB} MiB`, () => {
  bench('node:crypto AES-256-GCM, one shot (ceiling)', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([c.update(data), c.final()]);
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(c.getAuthTag());
    Buffer.concat([d.update(body), d.final()]);
  }, options);

  for (const kib of [4, 16, 64, 256, 1024]) {
    bench(`ESDK ${SNAPSHOT_SUITE.toString(16)} frame ${kib} KiB`, async () => {
      const { result } = await encrypt(keyring, data, { suiteId: SNAPSHOT_SUITE, encryptionContext, frameLength: kib * 1024 });
      await decrypt(keyring, result);
    }, options);
  }
});

async function drain(stream: NodeJS.ReadableStream): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += (chunk as Buffer).length;
  return n;
}

const chunks = Array.from({ length: SIZE / (64 * 1024) }, (_, i) => data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024));

describe(`streaming encrypt + decrypt ${SIZE / MIB} MiB in 64 KiB writes`, () => {
  for (const kib of [16, 64, 256, 1024]) {
    bench(`ESDK stream frame ${kib} KiB`, async () => {
      const enc = Readable.from(chunks).pipe(encryptStream(keyring, { suiteId: SNAPSHOT_SUITE, encryptionContext, frameLength: kib * 1024 }));
      const parts: Buffer[] = [];
      for await (const c of enc) parts.push(c as Buffer);
      await drain(Readable.from(parts).pipe(decryptUnsignedMessageStream(keyring)));
    }, options);
  }
});
