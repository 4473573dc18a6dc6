/** Escaping and anchors: every string a report shows comes from scenario files or executors, so none is trusted. */

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute value; control characters (an executor's error may hold them) become U+FFFD. */
export function esc(value: string | number): string {
  return String(value)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** An id fragment that is the same for the same input and different for different inputs (`_` is encoded too). */
function fragment(id: string): string {
  return id.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`);
}

export const scenarioAnchor = (id: string): string => `s-${fragment(id)}`;
/** `n` counts from 1, as the page numbers steps. */
export const stepAnchor = (id: string, n: number): string => `${scenarioAnchor(id)}-step-${n}`;
export const ruleAnchor = (id: string): string => `r-${fragment(id)}`;

/** A filter value: no spaces, so that a space-separated `data-` list can hold it. */
export const token = (s: string): string => encodeURIComponent(s);

/** The first `max` characters, for a summary line; the full text stays in the scenario's details. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
