import { describe, expect, it } from 'vitest';
import { clip, esc, ruleAnchor, scenarioAnchor, stepAnchor, token } from './escape.ts';

describe('esc', () => {
  it('escapes the five characters that can open markup or end an attribute', () => {
    expect(esc(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('replaces control characters but keeps tabs and newlines', () => {
    expect(esc('a\u0000b\u001bc\td\ne')).toBe('a\ufffdb\ufffdc\td\ne');
  });

  it('renders numbers', () => {
    expect(esc(42)).toBe('42');
  });
});

describe('anchors', () => {
  it('keep plain scenario ids readable', () => {
    expect(scenarioAnchor('revoke-disable-scheduled-backup')).toBe('s-revoke-disable-scheduled-backup');
    expect(stepAnchor('revoke-disable-scheduled-backup', 3)).toBe('s-revoke-disable-scheduled-backup-step-3');
    expect(ruleAnchor('EKM-01')).toBe('r-EKM-01');
  });

  it('differ for ids that differ only in characters an id cannot hold', () => {
    const ids = ['a b', 'a_b', 'a_20_b', 'a"b', 'a/b', 'a.b'];
    const anchors = ids.map(scenarioAnchor);
    expect(new Set(anchors).size).toBe(ids.length);
    for (const a of anchors) expect(a).toMatch(/^s-[A-Za-z0-9_-]+$/);
  });
});

describe('token and clip', () => {
  it('token has no spaces, so a space-separated list can hold it', () => {
    expect(token('two words')).toBe('two%20words');
  });

  it('clip keeps short text and marks cut text', () => {
    expect(clip('short', 10)).toBe('short');
    expect(clip('a'.repeat(20), 10)).toBe(`${'a'.repeat(9)}…`);
  });
});
