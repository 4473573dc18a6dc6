/**
 * The rule catalogue and state-machine transitions come from @ekm/domain. They are
 * looked up by name at run time because they land there in parallel with this
 * package; once they exist this reads them, and until then callers are told plainly.
 */
import * as domain from '@ekm/domain';
import type { Rule } from './results.ts';

const exported = domain as unknown as Record<string, unknown>;

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `RULES` from @ekm/domain as `{id, title, kind, quote}`, or undefined while it is missing. */
export function ruleCatalogue(source: unknown = exported['RULES']): Rule[] | undefined {
  const list = Array.isArray(source) ? source : source !== null && typeof source === 'object' ? Object.values(source) : undefined;
  if (list === undefined || list.length === 0) return undefined;
  const rules: Rule[] = [];
  for (const item of list) {
    const r = item as Record<string, unknown>;
    const id = text(r['id']);
    if (id === undefined) return undefined;
    rules.push({
      id,
      title: text(r['title']) ?? text(r['rule']) ?? '',
      kind: text(r['kind']) ?? '',
      quote: text(r['quote']) ?? text(r['words']) ?? '',
    });
  }
  return rules;
}

/** Transition ids of the EKM state machine (`TRANSITIONS` in @ekm/domain), or [] while it is missing. */
export function transitionIds(source: unknown = exported['TRANSITIONS']): string[] {
  if (!Array.isArray(source)) return [];
  return source.flatMap((t) => {
    if (typeof t === 'string') return [t];
    const id = (t as Record<string, unknown> | null)?.['id'];
    return typeof id === 'string' ? [id] : [];
  });
}
