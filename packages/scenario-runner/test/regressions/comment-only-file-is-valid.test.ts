// Regression: a file holding only a comment (or nothing) loaded as neither an error nor a
// scenario, so `ekm validate` said `valid` and the deep-nesting property failed about one CI
// run in seven (seed -742709095, counterexample ["[",1,3,"#"]: `#` then ~8 MB of `x`).
import { describe, expect, it } from 'vitest';
import { formatError, loadText, MAX_FILE_BYTES, NO_SCENARIO } from '../../src/load.ts';

describe('regression: comment-only file is valid', () => {
  it.each([
    ['empty', ''],
    ['blank lines', '\n\n   \n'],
    ['a comment', '# just a note\n'],
    ['document markers only', '---\n---\n'],
    ['the shrunk counterexample', `#${'x'.repeat(MAX_FILE_BYTES - 9)}`],
  ])('%s: file:1:1 says there is no scenario', (_, text) => {
    const r = loadText(text, 'f.yaml');
    expect(r.scenarios).toEqual([]);
    expect(r.errors.map(formatError)).toEqual([`f.yaml:1:1: ${NO_SCENARIO}`]);
  });
});
