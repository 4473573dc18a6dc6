/**
 * The snapshot pipeline (encryptSnapshot / decryptSnapshot: Encryption SDK message format,
 * committing suite 0x0478, 256 KiB frames) against raw node:crypto AES-256-GCM over the same
 * bytes, encrypt and decrypt timed separately, in paired rounds: each round times raw and
 * pipeline back to back, `--tries` times in turn (raw, pipeline, raw, pipeline, ...; the order
 * alternating between rounds), and the ratio of that round is raw's best try / pipeline's best
 * try. The figure is the median of those ratios. Best of a few adjacent tries, for both alike:
 * on 2 cores shared with other jobs a ~20 ms pass is often cut by another process's turn, which
 * only ever adds time; the first try of each round alone and its CPU time are reported too.
 * For reference, the SDK's own encrypt/decrypt (public API, same suite and frames) and the
 * streaming API (64 KiB chunks in) are timed in the same rounds.
 *   tsx bench/pipeline.ts [--mib 16] [--rounds 31] [--tries 3] [--no-reference]
 * Prints one JSON line. Run by packages/backup/bench/perf.ts (`pnpm bench` at the root).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-node';
import {
  decryptSnapshot,
  decryptSnapshotStream,
  encryptSnapshot,
  encryptSnapshotStream,
  SNAPSHOT_FRAME_LENGTH,
  SNAPSHOT_SUITE,
  snapshotContext,
  TenantKey,
} from '../src/index.ts';

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '16' }, rounds: { type: 'string', default: '31' }, tries: { type: 'string', default: '3' }, 'no-reference': { type: 'boolean', default: false } },
});
const MIB = 1024 * 1024;
const size = Number(values.mib) * MIB;
const rounds = Number(values.rounds);
const tries_ = Number(values.tries);
const data = randomBytes(size);
const ctx = { tenant: 'bench', snapshot: 'pipeline' };
const keyBytes = randomBytes(32);
const key = new TenantKey(ctx.tenant, 1, Uint8Array.from(keyBytes), 'arn:aws:kms:us-east-1:111122223333:key/bench');
// The SDK's stock client with the keyring the pipeline builds for this key (same namespace and name).
const sdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const ring = new RawAesKeyringNode({
  keyNamespace: 'ekm-tenant-key',
  keyName: `tenant/${ctx.tenant}/v1`,
  unencryptedMasterKey: Uint8Array.from(keyBytes),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const sdkOptions = { suiteId: SNAPSHOT_SUITE, encryptionContext: snapshotContext(ctx), frameLength: SNAPSHOT_FRAME_LENGTH };

interface Pass {
  encrypt(): Promise<Uint8Array>;
  decrypt(sealed: Uint8Array): Promise<Uint8Array>;
}

const chunks = (b: Uint8Array, n = 64 * 1024) => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));
async function collect(stream: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}

const rawKey = randomBytes(32);
let rawTag = Buffer.alloc(16);
// One IV for every try: the same bytes under the same key give the same body and tag, whichever try's is decrypted.
const rawIv = randomBytes(12);
const variants: Record<string, Pass> = {
  raw: {
    encrypt: async () => {
      const c = createCipheriv('aes-256-gcm', rawKey, rawIv);
      const body = Buffer.concat([c.update(data), c.final()]);
      rawTag = c.getAuthTag();
      return body;
    },
    decrypt: async (body) => {
      const d = createDecipheriv('aes-256-gcm', rawKey, rawIv);
      d.setAuthTag(rawTag);
      return Buffer.concat([d.update(body), d.final()]);
    },
  },
  pipeline: { encrypt: () => encryptSnapshot(key, data, ctx), decrypt: (m) => decryptSnapshot(key, m, ctx) },
};
if (!values['no-reference']) {
  variants.sdk = {
    encrypt: async () => (await sdk.encrypt(ring, data, sdkOptions)).result,
    // The SDK's decrypt does not compare the context; the pipeline does, so this does too.
    decrypt: async (m) => {
      const { plaintext, messageHeader } = await sdk.decrypt(ring, m);
      if (messageHeader.encryptionContext.snapshot !== ctx.snapshot) throw new Error('context');
      return plaintext;
    },
  };
  variants.stream = {
    encrypt: () => collect(encryptSnapshotStream(key, ctx, Readable.from(chunks(data)))),
    decrypt: (m) => collect(decryptSnapshotStream(key, ctx, Readable.from(chunks(m)))),
  };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
// Before timing: every variant round-trips, and the pipeline's messages are the SDK's (both ways).
for (const [name, v] of Object.entries(variants)) if (!same(await v.decrypt(await v.encrypt()), data)) throw new Error(`${name} did not round-trip`);
if (!same((await sdk.decrypt(ring, await encryptSnapshot(key, data, ctx))).plaintext, data)) throw new Error('the SDK does not read the pipeline');
if (!same(await decryptSnapshot(key, (await sdk.encrypt(ring, data, sdkOptions)).result, ctx), data)) throw new Error('the pipeline does not read the SDK');

const gc = (globalThis as { gc?: () => void }).gc;
/** Wall time, and this process's CPU time (user + system, all its threads): the CPU time does not count the time other processes held the cores. */
async function time<T>(f: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  gc?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, value };
}

const names = Object.keys(variants);
type Ops = { encrypt: number[]; decrypt: number[] };
const ops = (): Record<string, Ops> => Object.fromEntries(names.map((n) => [n, { encrypt: [], decrypt: [] }]));
/** Per round: the first try (wall and CPU), and the best of the round's tries. */
const ms = ops();
const cpu = ops();
const best = ops();
for (let round = -1; round < rounds; round++) {
  // Alternate the order, so neither side always runs right after the other's garbage.
  const order = round % 2 === 0 ? names : [...names].reverse();
  const sealed: Record<string, Uint8Array> = {};
  for (const op of ['encrypt', 'decrypt'] as const) {
    const tries: Record<string, number[]> = {};
    // raw, pipeline, raw, pipeline, ...: the references (slow, for comparison only) once.
    for (let k = 0; k < tries_; k++) {
      for (const n of order) {
        if (k > 0 && n !== 'raw' && n !== 'pipeline') continue;
        const v = variants[n]!;
        const t = await time(() => (op === 'encrypt' ? v.encrypt() : v.decrypt(sealed[n]!)));
        if (op === 'encrypt' && k === 0) sealed[n] = t.value;
        if (k === 0 && round >= 0) cpu[n]![op].push(t.cpuMs);
        (tries[n] ??= []).push(t.ms);
      }
    }
    if (round < 0) continue;
    for (const n of order) {
      ms[n]![op].push(tries[n]![0]!);
      best[n]![op].push(Math.min(...tries[n]!));
    }
  }
}
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r2 = (x: number) => Math.round(x * 100) / 100;
const mibps = (t: number) => Math.round((size / MIB / (t / 1000)) * 10) / 10;
type Op = 'encrypt' | 'decrypt';
/** Median over rounds of raw time / variant time (> 1: faster than raw), on the given samples. */
const paired = (by: Record<string, Ops>, n: string, op: Op) => r2(median(by[n]![op].map((t, i) => by.raw![op][i]! / t)));
const result: Record<string, unknown> = { bytes: size, rounds, tries: tries_, frameLength: SNAPSHOT_FRAME_LENGTH, suite: `0x${SNAPSHOT_SUITE.toString(16)}` };
for (const n of names) {
  // raw and pipeline: the best try of each round; the references: their one try, against raw's first.
  const by = n === 'raw' || n === 'pipeline' ? best : ms;
  const s = by[n]!;
  result[n] = {
    encryptMiBps: mibps(median(s.encrypt)),
    decryptMiBps: mibps(median(s.decrypt)),
    medianEncryptMs: r2(median(s.encrypt)),
    medianDecryptMs: r2(median(s.decrypt)),
    ...(n === 'raw' ? {} : { pairedEncrypt: paired(by, n, 'encrypt'), pairedDecrypt: paired(by, n, 'decrypt') }),
  };
}
result.paired = {
  encrypt: paired(best, 'pipeline', 'encrypt'),
  decrypt: paired(best, 'pipeline', 'decrypt'),
  samples: rounds,
  tries: tries_,
};
// Cross-checks: the first try of each round alone, and its CPU time (which other processes' turns do not inflate).
result.pairedFirstTry = { encrypt: paired(ms, 'pipeline', 'encrypt'), decrypt: paired(ms, 'pipeline', 'decrypt') };
result.pairedCpu = { encrypt: paired(cpu, 'pipeline', 'encrypt'), decrypt: paired(cpu, 'pipeline', 'decrypt') };
process.stdout.write(`${JSON.stringify(result)}\n`);
