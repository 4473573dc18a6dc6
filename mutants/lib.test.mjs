import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyMutant, closingLine, describeOutcome, exitCodeOf, loadCatalogue, occurrences, parseArgs, problemsOf, select, verdictOf } from './lib.mjs';

const mutant = {
  id: 'ekm-09-x',
  rule: 'EKM-09',
  description: 'a bug',
  file: 'packages/backup/src/phases.ts',
  search: "accepts: ['updateKey'],",
  replace: "accepts: ['updateKey', 'returnToCloudKms'],",
};

describe('applyMutant', () => {
  it('replaces the one occurrence of the anchor', () => {
    const applied = applyMutant("a\n    accepts: ['updateKey'],\nb", mutant);
    expect(applied).toEqual({ ok: true, text: "a\n    accepts: ['updateKey', 'returnToCloudKms'],\nb" });
  });

  it('refuses an anchor that is gone, naming the mutant and the file', () => {
    const applied = applyMutant("accepts: ['updateKey', 'completeUpdate'],", mutant);
    expect(applied.ok).toBe(false);
    expect(applied.reason).toMatch(/^mutant ekm-09-x does not apply: its anchor occurs nowhere in packages\/backup\/src\/phases\.ts/);
  });

  it('refuses an anchor that occurs more than once', () => {
    const applied = applyMutant("accepts: ['updateKey'],\naccepts: ['updateKey'],", mutant);
    expect(applied.ok).toBe(false);
    expect(applied.reason).toContain('occurs 2 times');
  });

  it('keeps replacement text literally ($ patterns are not special)', () => {
    const applied = applyMutant('x = 1;', { ...mutant, search: 'x = 1;', replace: "x = '$&$1';" });
    expect(applied).toEqual({ ok: true, text: "x = '$&$1';" });
  });

  it('counts overlapping occurrences', () => {
    expect(occurrences('aaa', 'aa')).toBe(2);
    expect(occurrences('abc', 'd')).toBe(0);
  });
});

describe('the catalogue', () => {
  const catalogue = loadCatalogue(join(fileURLToPath(new URL('.', import.meta.url)), 'catalogue'));

  it('has at least 25 well-formed mutants with unique ids over many rules and the gateway', () => {
    expect(catalogue.length).toBeGreaterThanOrEqual(25);
    expect(new Set(catalogue.map((m) => m.id)).size).toBe(catalogue.length);
    expect(new Set(catalogue.filter((m) => m.rule.startsWith('EKM-')).map((m) => m.rule)).size).toBeGreaterThanOrEqual(15);
    expect(catalogue.some((m) => m.rule === 'gateway.policy') && catalogue.some((m) => m.rule === 'gateway.grants')).toBe(true);
  });

  it('finds problems in a malformed entry', () => {
    expect(problemsOf({ ...mutant, rule: 'EKM-22', file: 'packages/domain/src/rules.ts', description: 'two\nlines' }, 'other.json')).toEqual([
      'file other.json must be named ekm-09-x.json',
      'rule "EKM-22" is not EKM-01..EKM-21, gateway.policy or gateway.grants',
      'description must be one non-empty line',
      'file packages/domain/src/rules.ts is not under packages/backup/src/, packages/backup/conformance/, packages/kms/src/, packages/kms-gateway/src/',
    ]);
    expect(problemsOf({ ...mutant, replace: mutant.search })).toEqual(['search and replace are the same: nothing would change']);
    expect(problemsOf({ id: 'x' })).toContain('rule is missing or not a string');
  });

  it('selects by id and refuses unknown ids', () => {
    expect(select(catalogue, [])).toBe(catalogue);
    expect(select(catalogue, [catalogue[0].id])).toEqual([catalogue[0]]);
    expect(() => select(catalogue, ['no-such-mutant'])).toThrow(/no mutant with id no-such-mutant/);
  });
});

describe('arguments', () => {
  it('takes ids and options in any order', () => {
    expect(parseArgs(['a', '--concurrency', '3', 'b', '--suite-concurrency=2', '--timeout', '5'])).toEqual({
      ids: ['a', 'b'],
      concurrency: 3,
      suiteConcurrency: 2,
      timeoutMinutes: 5,
      baseline: false,
      list: false,
      check: false,
    });
    expect(parseArgs(['--', '--paths', 'scenarios/a.yaml,scenarios/b']).paths).toEqual(['scenarios/a.yaml', 'scenarios/b']);
  });

  it('refuses unknown options and bad numbers', () => {
    expect(() => parseArgs(['--fast'])).toThrow('unknown option --fast');
    expect(() => parseArgs(['--concurrency', '0'])).toThrow(/positive integer/);
    expect(() => parseArgs(['--concurrency'])).toThrow(/positive integer/);
  });
});

describe('verdicts and the closing line', () => {
  const results = {
    scenarios: [
      { id: 'no-way-back', status: 'failed' },
      { id: 'terms-declined', status: 'passed' },
    ],
  };

  it('a failed suite kills, a passing suite lets survive', () => {
    expect(verdictOf('m1', 1, results)).toEqual({ id: 'm1', status: 'killed', failed: ['no-way-back'] });
    expect(verdictOf('m2', 0, { scenarios: [] })).toEqual({ id: 'm2', status: 'survived', failed: [] });
    expect(verdictOf('m3', null, undefined, 'timed out after 20 min')).toEqual({ id: 'm3', status: 'killed', failed: [], reason: 'timed out after 20 min' });
  });

  it('ends with the exact closing line, counting mutants that did not apply in N', () => {
    const outcomes = [
      { id: 'a', status: 'killed', failed: ['x'] },
      { id: 'b', status: 'survived', failed: [] },
      { id: 'c', status: 'not-applied', reason: 'anchor gone' },
      { id: 'd', status: 'killed', failed: ['y'] },
    ];
    expect(closingLine(outcomes)).toBe('mutants: 2 killed, 1 survived (of 4)');
    expect(exitCodeOf(outcomes)).toBe(1);
    expect(exitCodeOf([outcomes[0], outcomes[3]])).toBe(0);
    expect(exitCodeOf([outcomes[0], outcomes[2]])).toBe(1);
  });

  it('says which scenarios killed a mutant', () => {
    expect(describeOutcome({ id: 'a', status: 'killed', failed: ['x', 'y'], seconds: 12.4 }, { rule: 'EKM-09' })).toBe(
      'killed      a [EKM-09] (12 s): killed by x, y',
    );
    expect(describeOutcome({ id: 'b', status: 'survived', failed: [] }, { rule: 'gateway.policy' })).toBe(
      'SURVIVED    b [gateway.policy]: the whole suite passed',
    );
  });
});

describe('a baseline', () => {
  it('scenarios failing without the mutant kill nothing', () => {
    const results = {
      scenarios: [
        { id: 'broken-anyway', status: 'failed' },
        { id: 'no-way-back', status: 'failed' },
      ],
    };
    expect(verdictOf('m', 1, results, undefined, ['broken-anyway'])).toEqual({ id: 'm', status: 'killed', failed: ['no-way-back'] });
    expect(verdictOf('m', 1, { scenarios: [{ id: 'broken-anyway', status: 'failed' }] }, undefined, ['broken-anyway'])).toMatchObject({
      status: 'survived',
      failed: [],
    });
    expect(parseArgs(['--baseline']).baseline).toBe(true);
  });
});
