import { describe, expect, it } from 'vitest';
import { RULE_IDS, RULES, isRuleId, ruleById } from './rules.ts';

describe('rule catalogue', () => {
  it('has exactly the 21 rule ids EKM-01..EKM-21, in order and once each', () => {
    const expected = Array.from({ length: 21 }, (_, i) => `EKM-${String(i + 1).padStart(2, '0')}`);
    expect(RULES.map((r) => r.id)).toEqual(expected);
    expect([...RULE_IDS]).toEqual(expected);
  });

  it('gives every rule a title, a kind and the article quote', () => {
    for (const r of RULES) {
      expect(r.title.length).toBeGreaterThan(20);
      expect(r.quote.length).toBeGreaterThan(5);
      expect(['documented', 'derived']).toContain(r.kind);
    }
    expect(RULES.filter((r) => r.kind === 'derived').map((r) => r.id)).toEqual(['EKM-13', 'EKM-18', 'EKM-19', 'EKM-20', 'EKM-21']);
  });

  it('[EKM-19] states the position on running work: it finishes with the tenant key it unwrapped, the next workflow fails', () => {
    const position = ruleById('EKM-19').position ?? '';
    expect(position).toContain('finishes with the tenant key it already unwrapped');
    expect(position).toContain('the next workflow fails');
  });

  it('looks rules up by id and rejects unknown ids', () => {
    expect(ruleById('EKM-09').quote).toContain("can't return");
    expect(ruleById('EKM-21').title).toContain('not the account');
    expect(ruleById('EKM-22')).toBeUndefined();
    expect(isRuleId('EKM-20')).toBe(true);
    expect(isRuleId('ekm-20')).toBe(false);
  });
});
