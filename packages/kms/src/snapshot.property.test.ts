import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProviderFailure } from './failure-error.ts';
import { decryptSnapshot, decryptSnapshotStream, encryptSnapshot, SNAPSHOT_FRAME_LENGTH, type SnapshotContext } from './snapshot.ts';
import { TenantKey } from './tenant-key.ts';

/** 1,000 cases each in CI (CI set), fewer locally; FC_NUM_RUNS overrides both. */
const params = { numRuns: Number(process.env['FC_NUM_RUNS'] ?? (process.env['CI'] ? 1000 : 200)) };
/** 1,000 decryptions of a three-frame blob, twice, on a shared CI machine. */
const TIMEOUT = 120_000;
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

// Names that differ by one character or a suffix, so a prefix comparison somewhere would show.
const TENANTS = ['t-1', 't-2', 't-10'] as const;
const SNAPSHOTS = ['s-1', 's-2', 's-1x'] as const;
const keyBytes = new Map<string, Buffer>(TENANTS.map((t) => [t, randomBytes(32)]));
const keyOf = (tenant: string) => new TenantKey(tenant, 1, Uint8Array.from(keyBytes.get(tenant)!), KEY_ARN);

interface Sealed {
  readonly ctx: SnapshotContext;
  readonly plaintext: Uint8Array;
  readonly message: Uint8Array;
}
/** One small message per (tenant, snapshot), and larger ones. */
const pool: Sealed[] = [];

beforeAll(async () => {
  for (const tenant of TENANTS) {
    for (const snapshot of SNAPSHOTS) {
      const ctx = { tenant, snapshot };
      const plaintext = new TextEncoder().encode(JSON.stringify({ tenant, snapshot, users: [{ id: randomBytes(8).toString('hex') }] }));
      pool.push({ ctx, plaintext, message: await encryptSnapshot(keyOf(tenant), plaintext, ctx) });
    }
  }
  // Several frames, a whole number of frames (the final frame's edge), and nothing at all.
  for (const [snapshot, size] of [['s-big', 2 * SNAPSHOT_FRAME_LENGTH + 999], ['s-frames', 2 * SNAPSHOT_FRAME_LENGTH], ['s-empty', 0]] as const) {
    const ctx = { tenant: 't-2', snapshot };
    const plaintext = randomBytes(size);
    pool.push({ ctx, plaintext, message: await encryptSnapshot(keyOf('t-2'), plaintext, ctx) });
  }
});

/** The message in chunks cut at the given offsets (taken modulo its length), as storage streams it. */
function split(message: Uint8Array, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (message.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...at, message.length]) {
    if (to > from) out.push(Buffer.from(message.subarray(from, to)));
    from = Math.max(from, to);
  }
  return out;
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });
const sealed = fc.nat().map((n) => pool[n % pool.length]!);

/** The code decryptSnapshot refused with; a returned plaintext fails the test. */
async function refusal(key: TenantKey, message: Uint8Array, ctx: SnapshotContext): Promise<string> {
  try {
    const plaintext = await decryptSnapshot(key, message, ctx);
    return `returned ${plaintext.byteLength} bytes`;
  } catch (error) {
    return error instanceof ProviderFailure ? error.code : `threw ${String(error)}`;
  }
}

/**
 * The stream's outcome: the error code it ended with, and whether everything it released
 * before failing was an unaltered prefix of the original plaintext (authenticated frames).
 */
async function streamRefusal(key: TenantKey, message: Uint8Array, ctx: SnapshotContext, original: Uint8Array, cuts: readonly number[] = []): Promise<{ code: string; prefix: boolean }> {
  const chunks: Buffer[] = [];
  let code = 'completed';
  try {
    for await (const chunk of decryptSnapshotStream(key, ctx, Readable.from(split(message, cuts)))) chunks.push(chunk as Buffer);
  } catch (error) {
    code = error instanceof ProviderFailure ? error.code : `threw ${String(error)}`;
  }
  const released = Buffer.concat(chunks);
  return { code, prefix: released.length <= original.length && Buffer.from(original).subarray(0, released.length).equals(released) };
}

describe('snapshot blobs that are not what was written are refused (property)', () => {
  it('[EKM-20] a bit flipped at any position is refused with DataTampered, one-shot and streaming', async () => {
    await fc.assert(
      fc.asyncProperty(sealed, fc.nat(), fc.nat({ max: 7 }), async (s, at, bit) => {
        const bad = Uint8Array.from(s.message);
        const i = at % bad.length;
        bad[i] = bad[i]! ^ (1 << bit);
        expect(await refusal(keyOf(s.ctx.tenant), bad, s.ctx)).toBe('DataTampered');
        expect(await streamRefusal(keyOf(s.ctx.tenant), bad, s.ctx, s.plaintext)).toEqual({ code: 'DataTampered', prefix: true });
      }),
      params,
    );
  }, TIMEOUT);

  it('[EKM-20] a blob truncated at any length is refused with DataTampered, one-shot and streaming', async () => {
    await fc.assert(
      fc.asyncProperty(sealed, fc.nat(), async (s, n) => {
        const cut = s.message.subarray(0, n % s.message.length);
        expect(await refusal(keyOf(s.ctx.tenant), cut, s.ctx)).toBe('DataTampered');
        expect(await streamRefusal(keyOf(s.ctx.tenant), cut, s.ctx, s.plaintext)).toEqual({ code: 'DataTampered', prefix: true });
      }),
      params,
    );
  }, TIMEOUT);

  it('[EKM-20] a blob swapped in from another tenant or another snapshot is refused with DataTampered, with either tenant key', async () => {
    await fc.assert(
      fc.asyncProperty(sealed, sealed, fc.boolean(), async (s, as, ownKey) => {
        fc.pre(s.ctx.tenant !== as.ctx.tenant || s.ctx.snapshot !== as.ctx.snapshot);
        // Presented where `as` belongs: with that tenant's key, or (a confused reader) with the writer's own.
        const key = keyOf(ownKey ? s.ctx.tenant : as.ctx.tenant);
        expect(await refusal(key, s.message, as.ctx)).toBe('DataTampered');
        expect(await streamRefusal(key, s.message, as.ctx, s.plaintext)).toEqual({ code: 'DataTampered', prefix: true });
      }),
      params,
    );
  }, TIMEOUT);

  it('[EKM-20] random bytes, and a valid header followed by random bytes, are refused with DataTampered', async () => {
    await fc.assert(
      fc.asyncProperty(sealed, fc.uint8Array({ maxLength: 600 }), fc.nat(), async (s, noise, n) => {
        const key = keyOf(s.ctx.tenant);
        expect(await refusal(key, noise, s.ctx)).toBe('DataTampered');
        const spliced = Buffer.concat([s.message.subarray(0, n % s.message.length), noise]);
        fc.pre(!Buffer.from(spliced).equals(Buffer.from(s.message)));
        expect(await refusal(key, spliced, s.ctx)).toBe('DataTampered');
      }),
      params,
    );
  }, TIMEOUT);

  it('regression: bytes appended after a complete blob were ignored and its data returned; now refused with DataTampered, one-shot and streaming in any chunks [EKM-20]', async () => {
    await fc.assert(
      fc.asyncProperty(sealed, fc.uint8Array({ minLength: 1, maxLength: 64 }), cuts, async (s, tail, at) => {
        const longer = Buffer.concat([s.message, tail]);
        expect(await refusal(keyOf(s.ctx.tenant), longer, s.ctx)).toBe('DataTampered');
        expect(await streamRefusal(keyOf(s.ctx.tenant), longer, s.ctx, s.plaintext, at)).toEqual({ code: 'DataTampered', prefix: true });
      }),
      params,
    );
  }, TIMEOUT);

  it('[EKM-20] an untouched blob streamed in chunks cut anywhere decrypts exactly', async () => {
    await fc.assert(
      fc.asyncProperty(sealed, cuts, async (s, at) => {
        const out: Buffer[] = [];
        for await (const chunk of decryptSnapshotStream(keyOf(s.ctx.tenant), s.ctx, Readable.from(split(s.message, at)))) out.push(chunk as Buffer);
        expect(Buffer.concat(out).equals(Buffer.from(s.plaintext))).toBe(true);
      }),
      params,
    );
  }, TIMEOUT);

  it('the untouched blobs decrypt, so the refusals above are about the changes', async () => {
    for (const s of pool) {
      expect(Buffer.from(await decryptSnapshot(keyOf(s.ctx.tenant), s.message, s.ctx)).equals(Buffer.from(s.plaintext))).toBe(true);
    }
  });
});
