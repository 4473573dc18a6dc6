/**
 * Decrypt of one 16 MiB snapshot message, path by path, against raw AES-256-GCM, interleaved
 * round by round: the pipeline (decryptSnapshot), the same with an empty message (the fixed
 * cost per message: keyring, key derivation, commitment, header), and the SDK's own public
 * decrypt paths (one-shot, and its stream fed the message whole, in 64 KiB and 1 MiB chunks),
 * which the pipeline replaced. With `node --cpu-prof` the SDK's paths showed buffer copies and
 * garbage collection (the header parser concatenates its first chunk, a 16 MiB copy) and stream
 * plumbing (three Transforms, setImmediate hops per frame) next to AES itself.
 *   tsx bench/stages.ts [--mib 16] [--rounds 9]
 */
import { createDecipheriv, createCipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-node';
import { decryptSnapshot, encryptSnapshot, TenantKey } from '../src/index.ts';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '16' }, rounds: { type: 'string', default: '9' } } });
const size = Number(values.mib) * 1024 * 1024;
const rounds = Number(values.rounds);
const data = randomBytes(size);
const ctx = { tenant: 'bench', snapshot: 'stages' };
const bytes = randomBytes(32);
const key = new TenantKey(ctx.tenant, 1, Uint8Array.from(bytes), 'arn:aws:kms:us-east-1:111122223333:key/bench');
const message = await encryptSnapshot(key, data, ctx);
const empty = await encryptSnapshot(key, new Uint8Array(0), ctx);
const { decrypt, decryptUnsignedMessageStream } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const ring = new RawAesKeyringNode({ keyNamespace: 'ekm-tenant-key', keyName: 'tenant/bench/v1', unencryptedMasterKey: Uint8Array.from(bytes), wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING });
const rawKey = randomBytes(32);
const iv = randomBytes(12);
const c = createCipheriv('aes-256-gcm', rawKey, iv);
const rawBody = Buffer.concat([c.update(data), c.final()]);
const tag = c.getAuthTag();

async function stream(chunks: Uint8Array[]): Promise<number> {
  let n = 0;
  for await (const chunk of Readable.from(chunks).pipe(decryptUnsignedMessageStream(ring))) n += (chunk as Buffer).length;
  return n;
}
const cut = (b: Uint8Array, n: number) => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));
const stages: Record<string, () => Promise<unknown>> = {
  raw: async () => { const d = createDecipheriv('aes-256-gcm', rawKey, iv); d.setAuthTag(tag); return Buffer.concat([d.update(rawBody), d.final()]); },
  rawNoConcat: async () => { const d = createDecipheriv('aes-256-gcm', rawKey, iv); d.setAuthTag(tag); d.update(rawBody); return d.final(); },
  pipeline: () => decryptSnapshot(key, message, ctx),
  pipelineEmpty: () => decryptSnapshot(key, empty, ctx),
  sdkOneShot: () => decrypt(ring, message),
  sdkStreamWhole: () => stream([message]),
  sdkStream64K: () => stream(cut(message, 64 * 1024)),
  sdkStream1M: () => stream(cut(message, 1024 * 1024)),
};
const t: Record<string, number[]> = {};
for (let r = -1; r < rounds; r++) {
  for (const [name, f] of Object.entries(stages)) {
    const t0 = performance.now();
    await f();
    if (r >= 0) (t[name] ??= []).push(performance.now() - t0);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [name, xs] of Object.entries(t)) {
  const ratio = med(xs.map((x, i) => t.raw![i]! / x));
  console.log(`${name.padEnd(16)} ${med(xs).toFixed(1).padStart(7)} ms  raw/this ${ratio.toFixed(2)}`);
}
