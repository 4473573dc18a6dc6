import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseKeyArn, type ArnParse } from './arn.ts';
import { FAILURES } from './failures.ts';
import { mutatedArn, validArn } from './arn.arbitrary.ts';

/** At least 1,000 cases each, in CI and locally: parsing is cheap. FC_NUM_RUNS overrides. */
const params = { numRuns: Number(process.env['FC_NUM_RUNS'] ?? 1000) };

const REFUSALS = new Set(['InvalidKeyArn', 'UnsupportedKeyLocation', 'AliasNotAccepted']);
const FIELDS = new Set(['arn', 'partition', 'service', 'region', 'account', 'resource']);
const ACCEPTED = /^arn:(aws|aws-us-gov|aws-cn):kms:([a-z]{2}(-[a-z]+)+-\d{1,2}):(\d{12}):key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** Longest message a refusal may have: the console shows it as is, so hostile input must not blow it up. */
const MAX_MESSAGE = 600;

/** What every answer must look like: an exact key ARN, or a typed input refusal with a sentence. */
function wellFormed(input: string, r: ArnParse): void {
  if (r.ok) {
    const m = ACCEPTED.exec(r.arn.arn);
    expect(m, r.arn.arn).not.toBeNull();
    expect(r.arn.arn).toBe(input.trim());
    expect([r.arn.partition, r.arn.region, r.arn.account]).toEqual([m![1], m![2], m![4]]);
    expect(r.arn.multiRegion).toBe(r.arn.keyId.startsWith('mrk-'));
    if (r.arn.partition === 'aws-cn') expect(r.arn.region).toMatch(/^cn-/);
    else if (r.arn.partition === 'aws-us-gov') expect(r.arn.region).toMatch(/^us-gov-/);
    else expect(r.arn.region).not.toMatch(/^(cn-|us-gov-)/);
    return;
  }
  const f = r.failure;
  expect(REFUSALS.has(f.code), f.code).toBe(true);
  expect(f.kind).toBe(FAILURES[f.code].kind);
  expect(f.kind).toBe('input');
  expect(f.message.trim().length).toBeGreaterThan(10);
  expect(f.message.length, f.message.slice(0, 200)).toBeLessThanOrEqual(MAX_MESSAGE);
  expect(f.message).not.toMatch(/undefined|\[object |NaN/);
  expect(f.field === undefined || FIELDS.has(f.field), String(f.field)).toBe(true);
}

function check(input: string): void {
  let r: ArnParse;
  try {
    r = parseKeyArn(input);
  } catch (error) {
    throw new Error(`parseKeyArn threw for ${JSON.stringify(input)}: ${String(error)}`);
  }
  wellFormed(input, r);
}

describe('parseKeyArn with hostile input (property)', () => {
  it('[EKM-03] valid key ARNs of every partition are accepted exactly', () => {
    fc.assert(
      fc.property(validArn, (arn) => {
        const r = parseKeyArn(arn);
        expect(r.ok).toBe(true);
        wellFormed(arn, r);
      }),
      params,
    );
  });

  it('[EKM-03][EKM-06] random strings never throw and always get a typed reason', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ maxLength: 300 })), check), params);
  });

  it('[EKM-03][EKM-06] mutated valid ARNs (edits, truncations, case, whitespace, other partitions and services) never throw and always get a typed reason', () => {
    fc.assert(fc.property(mutatedArn, check), params);
  });

  it('[EKM-03] random strings built from ARN pieces never throw and always get a typed reason', () => {
    const piece = fc.constantFrom('arn', ':', 'aws', 'aws-cn', 'kms', 'us-east-1', '111122223333', 'key/', 'alias/', 'mrk-', '1234abcd-12ab-34cd-56ef-1234567890ab', '/', ' ', '\n', 'vault.azure.net', 'projects/', 'cryptoKeys/');
    fc.assert(fc.property(fc.array(piece, { maxLength: 20 }).map((p) => p.join('')), check), params);
  });

  it('regression: a refusal quotes at most a bounded part of hostile input, with control characters escaped [EKM-03]', () => {
    const huge = `alias/${'x'.repeat(100_000)}`;
    for (const input of [huge, `arn:aws:kms:us-east-1:${'9'.repeat(50_000)}:key/1`, `arn:aws:kms:${'a'.repeat(50_000)}:111122223333:key/1`, `arn:aws:kms:us-east-1:111122223333:key/${'f'.repeat(50_000)}`]) {
      const r = parseKeyArn(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.failure.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
    }
    const r = parseKeyArn('alias/a\u0000b\u001b[31mred');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.failure.message).not.toMatch(/[\u0000-\u001f]/);
  });
});
