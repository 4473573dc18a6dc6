// Regression: tens of thousands of nesting levels made the YAML parser recurse until V8 aborted
// the whole test process ("FATAL ERROR: RegExpCompiler Allocation failed - process out of
// memory", a regular expression compiled lazily with the stack nearly exhausted): the
// deep-nesting property failed about one CI run in seven. Nesting is now refused before parsing.
import { describe, expect, it } from 'vitest';
import { formatError, loadText, MAX_DEPTH } from '../../src/load.ts';

describe('regression: deep nesting aborts the process', () => {
  it.each([
    ['flow sequences', '['.repeat(40_000), 1, MAX_DEPTH + 1],
    ['flow mappings after a valid start', `a: 1\nb: ${'{a: '.repeat(40_000)}`, 2, 4 + 4 * MAX_DEPTH],
    ['compact block sequences', '- '.repeat(40_000), 1, 2 * MAX_DEPTH + 1],
    ['indentation', `a:\n${' '.repeat(MAX_DEPTH + 1)}b: 1\n`, 2, MAX_DEPTH + 1],
  ])('%s: refused at the line and column where nesting passes the limit', (_, text, line, column) => {
    const r = loadText(text, 'f.yaml');
    expect(r.errors.map(formatError)).toEqual([
      `f.yaml:${line}:${column}: expected YAML nested at most ${MAX_DEPTH} levels deep, found nesting too deep to read`,
    ]);
  });

  it('brackets in comments and balanced brackets do not count', () => {
    const text = `# ${'['.repeat(1000)}\n${'[]'.repeat(1000)}\n`;
    expect(loadText(text, 'f.yaml').errors[0]?.message ?? '').not.toMatch(/too deep/);
  });
});
