// Regression: each page of a list rendered (projected and $expand-ed) every item of the whole
// list before slicing out its page, so reading a large tenant was quadratic: 100,000 users with
// $expand=manager took minutes. Only the page's items are rendered now.
import { describe, expect, it } from 'vitest';
import { page } from '../../src/graph-respond.ts';

describe('regression: every page renders the whole list', () => {
  it('renders only the items of the page asked for', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ id: `u${i}` }));
    let rendered = 0;
    const render = (x: { id: string }) => {
      rendered++;
      return { id: x.id, seen: true };
    };
    const first = (await page(new URL('https://graph.microsoft.com/v1.0/users?$top=100'), 'ctx', items, { top: 100, render }).json()) as { value: { id: string }[]; '@odata.nextLink'?: string };
    expect(first.value.map((v) => v.id)).toEqual(items.slice(0, 100).map((x) => x.id));
    expect(first['@odata.nextLink']).toContain('$skiptoken=');
    expect(rendered).toBe(100);
  });
});
