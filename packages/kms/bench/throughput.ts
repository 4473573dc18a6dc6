/**
 * Encryption throughput of the backup pipeline's configuration (encryptSnapshot /
 * decryptSnapshot: committing suite, 256 KiB frames) against raw node:crypto AES-256-GCM
 * over the same bytes, and the SDK with its default 4 KiB frames, interleaved round by
 * round so that a noisy neighbour slows all three alike.
 *   tsx bench/throughput.ts [--mib 16] [--rounds 7]
 * Prints one JSON line. Run by packages/backup/bench/perf.ts (`pnpm bench` at the root).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-node';
import { decryptSnapshot, encryptSnapshot, SNAPSHOT_FRAME_LENGTH, SNAPSHOT_SUITE, snapshotContext, TenantKey } from '../src/index.ts';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '16' }, rounds: { type: 'string', default: '7' } } });
const MIB = 1024 * 1024;
const size = Number(values.mib) * MIB;
const rounds = Number(values.rounds);
const data = randomBytes(size);
const ctx = { tenant: 'bench', snapshot: 'throughput' };

const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const wrappingKey = new Uint8Array(32);
wrappingKey.set(randomBytes(32));
const defaultFrames = new RawAesKeyringNode({
  keyNamespace: 'bench',
  keyName: 'tenant/bench/v1',
  unencryptedMasterKey: wrappingKey,
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});

type Pass = { encrypt: () => Promise<Uint8Array>; decrypt: (message: Uint8Array) => Promise<Uint8Array> };

const variants: Record<string, () => Pass> = {
  rawAesGcm: () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    let tag: Buffer;
    return {
      encrypt: async () => {
        const c = createCipheriv('aes-256-gcm', key, iv);
        const body = Buffer.concat([c.update(data), c.final()]);
        tag = c.getAuthTag();
        return body;
      },
      decrypt: async (body) => {
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.setAuthTag(tag);
        return Buffer.concat([d.update(body), d.final()]);
      },
    };
  },
  pipeline: () => {
    const key = new TenantKey(ctx.tenant, 1, randomBytes(32), 'arn:aws:kms:us-east-1:111122223333:key/bench');
    return { encrypt: () => encryptSnapshot(key, data, ctx), decrypt: (m) => decryptSnapshot(key, m, ctx) };
  },
  sdkDefault4KiB: () => ({
    // No frameLength: the SDK's default, 4 KiB.
    encrypt: async () => (await encrypt(defaultFrames, data, { suiteId: SNAPSHOT_SUITE, encryptionContext: snapshotContext(ctx) })).result,
    decrypt: async (m) => (await decrypt(defaultFrames, m)).plaintext,
  }),
};

const samples: Record<string, { encrypt: number[]; decrypt: number[] }> = {};
for (let round = -1; round < rounds; round++) {
  for (const [name, make] of Object.entries(variants)) {
    const pass = make();
    const t0 = performance.now();
    const message = await pass.encrypt();
    const t1 = performance.now();
    const plain = await pass.decrypt(message);
    const t2 = performance.now();
    if (round < 0) {
      // The warm-up round also checks that every variant gives the bytes back.
      if (Buffer.compare(Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength), data) !== 0) throw new Error(`${name} did not round-trip`);
      continue;
    }
    const s = (samples[name] ??= { encrypt: [], decrypt: [] });
    s.encrypt.push(t1 - t0);
    s.decrypt.push(t2 - t1);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mbps = (ms: number) => Math.round((size / MIB / (ms / 1000)) * 10) / 10;
const result: Record<string, unknown> = { bytes: size, rounds, frameLength: SNAPSHOT_FRAME_LENGTH, suite: `0x${SNAPSHOT_SUITE.toString(16)}` };
for (const [name, s] of Object.entries(samples)) {
  const enc = median(s.encrypt);
  const dec = median(s.decrypt);
  const both = median(s.encrypt.map((e, i) => e + s.decrypt[i]!));
  result[name] = { encryptMiBps: mbps(enc), decryptMiBps: mbps(dec), roundTripMiBps: mbps(both), medianEncryptMs: Math.round(enc * 10) / 10, medianDecryptMs: Math.round(dec * 10) / 10, samples: s.encrypt.length };
}
// Ratios round by round (same round, same moment of a noisy machine), then their median.
const raw = samples.rawAesGcm!;
const paired = (name: string) => {
  const s = samples[name]!;
  return Math.round(median(s.encrypt.map((e, i) => (raw.encrypt[i]! + raw.decrypt[i]!) / (e + s.decrypt[i]!))) * 100) / 100;
};
result.pairedRatios = { pipelineToRaw: paired('pipeline'), sdkDefault4KiBToRaw: paired('sdkDefault4KiB'), samples: raw.encrypt.length };
process.stdout.write(`${JSON.stringify(result)}\n`);
