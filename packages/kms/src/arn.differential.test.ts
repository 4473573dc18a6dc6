import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseKeyArn as modelParse } from '@ekm/domain';
import { mutatedArn, validArn } from '@ekm/domain/arn-arbitrary';
import { parseKeyArn } from './arn.ts';

const runs = Number(process.env['FC_NUM_RUNS'] ?? 20_000);

/** What a refusal is compared on: the code and the field it points at (the words may differ). */
const verdict = (p: ReturnType<typeof parseKeyArn> | ReturnType<typeof modelParse>) =>
  p.ok ? { ok: true, arn: p.arn.arn, multiRegion: p.arn.multiRegion } : { ok: false, code: p.failure.code, field: p.failure.field };

describe("the provider's ARN parser against the model's (two descriptions of EKM-03, written apart)", () => {
  it('[EKM-03][EKM-06] agree on every input: accepted with the same ARN, or refused with the same code and field', () => {
    const foreign = fc.constantFrom(
      'alias/backup',
      'arn:aws:kms:us-east-1:111122223333:alias/backup',
      'https://a.vault.azure.net/keys/k/1',
      'https://a.managedhsm.azure.net/keys/k',
      'projects/p/locations/l/keyRings/r/cryptoKeys/k',
    );
    const input = fc.oneof(fc.string({ unit: 'binary', maxLength: 120 }), validArn, mutatedArn, foreign);
    fc.assert(
      fc.property(input, (text) => {
        expect(verdict(parseKeyArn(text))).toEqual(verdict(modelParse(text)));
      }),
      { numRuns: runs },
    );
  });
});
