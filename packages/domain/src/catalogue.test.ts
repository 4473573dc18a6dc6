// Keeps the catalogue, the tests and the README in step: each rule is proved by some test here,
// and the README lists every state and transition the code has.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KEY_TRANSITIONS, STATES, TRANSITIONS } from './index.ts';
import { RULE_IDS } from './rules.ts';

const here = new URL('.', import.meta.url);

describe('catalogue bookkeeping', () => {
  it('names every rule id EKM-01..EKM-21 in at least one domain test name', () => {
    const named = new Set<string>();
    for (const file of readdirSync(here).filter((f) => f.endsWith('.test.ts'))) {
      const text = readFileSync(new URL(file, here), 'utf8');
      for (const m of text.matchAll(/\bit(?:\.each\([\s\S]*?\))?\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g)) {
        for (const id of m[2]!.matchAll(/\[(EKM-\d\d)\]/g)) named.add(id[1]!);
      }
    }
    expect(RULE_IDS.filter((id) => !named.has(id))).toEqual([]);
  });

  it('lists every state and transition id in the README', () => {
    const readme = readFileSync(new URL('../README.md', here), 'utf8');
    const missing = [...STATES, ...TRANSITIONS.map((t) => t.id), ...KEY_TRANSITIONS.map((t) => t.id)].filter((id) => !readme.includes(`\`${id}\``));
    expect(missing).toEqual([]);
  });
});
