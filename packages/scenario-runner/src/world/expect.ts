/** Checks a step's `expect` against what happened; each check returns the reason it failed, or nothing. */
import { compareDirectories, type DirectoryDifference, type DirectoryState } from '@ekm/graph';
import type { Failure } from '@ekm/domain';
import type { Expect } from '../format.ts';
import type { KmsCall } from '../results.ts';

export type Outcome = { readonly ok: true; readonly message?: string } | { readonly ok: false; readonly failure: Failure };

export function describeOutcome(o: Outcome): string {
  return o.ok ? 'ok' : `${o.failure.code} (${o.failure.message}${o.failure.field === undefined ? '' : `; field ${o.failure.field}`})`;
}

export function checkOutcome(expect: Expect | undefined, outcome: Outcome): string | undefined {
  const want = [expect?.outcome ?? 'ok'].flat();
  const got = outcome.ok ? 'ok' : outcome.failure.code;
  if (!want.includes(got)) return `expected outcome ${want.join(' or ')}, got ${describeOutcome(outcome)}`;
  if (expect?.message !== undefined) {
    const text = outcome.ok ? (outcome.message ?? '') : outcome.failure.message;
    if (!text.toLowerCase().includes(expect.message.toLowerCase())) return `expected the message to mention "${expect.message}", got "${text}"`;
  }
  if (expect?.field !== undefined) {
    const field = outcome.ok ? undefined : outcome.failure.field;
    if (field !== expect.field) return `expected the failure to point at field ${expect.field}, got ${field ?? 'no field'}`;
  }
  return undefined;
}

export interface CallFilter {
  readonly op: string;
  readonly count?: number | undefined;
  readonly from?: string | undefined;
  readonly key?: string | undefined;
  readonly context?: Readonly<Record<string, string>> | undefined;
  readonly result?: string | undefined;
}

/** `tenants` maps `$tenant` and `$tenant:NAME` to tenant ids. */
export function checkAudit(expect: Expect['audit'], calls: readonly KmsCall[], tenants: ReadonlyMap<string, string>): string | undefined {
  if (expect === undefined) return undefined;
  const list = () => (calls.length === 0 ? 'none' : calls.map(showCall).join(', '));
  if (expect.none === true && calls.length > 0) return `expected no KMS call, got ${list()}`;
  if (expect.total !== undefined && calls.length !== expect.total) return `expected ${expect.total} KMS call(s) in all, got ${calls.length}: ${list()}`;
  for (const want of expect.calls ?? []) {
    const matching = calls.filter((c) => matches(c, want, tenants));
    const ok = want.count === undefined ? matching.length > 0 : matching.length === want.count;
    if (!ok) {
      return `expected ${want.count === undefined ? 'at least one' : want.count} ${showFilter(want)} call(s), got ${matching.length}; calls were: ${list()}`;
    }
  }
  return undefined;
}

function matches(call: KmsCall, want: CallFilter, tenants: ReadonlyMap<string, string>): boolean {
  if (call.operation !== want.op) return false;
  if (want.from !== undefined && call.from !== want.from) return false;
  if (want.key !== undefined && call.key !== want.key) return false;
  if (want.result !== undefined && call.result !== want.result) return false;
  for (const [k, v] of Object.entries(want.context ?? {})) {
    if (call.encryptionContext?.[k] !== (v.startsWith('$tenant') ? (tenants.get(v) ?? `(no tenant ${v.slice(8)})`) : v)) return false;
  }
  return true;
}

function showCall(c: KmsCall): string {
  return `${c.operation} from ${c.from}${c.key === undefined ? '' : ` on ${c.key}`} -> ${c.result}`;
}

function showFilter(f: CallFilter): string {
  const parts = [
    f.op,
    f.from && `from ${f.from}`,
    f.key && `on ${f.key}`,
    f.result && `-> ${f.result}`,
    f.context && `with context ${JSON.stringify(f.context)}`,
  ];
  return parts.filter(Boolean).join(' ');
}

export function showDifferences(differences: readonly DirectoryDifference[], limit = 5): string {
  const shown = differences.slice(0, limit).map((d) => {
    const what = 'property' in d && d.property !== undefined ? ` ${d.property}` : '';
    const target = 'targetId' in d && d.targetId !== undefined ? ` ${d.targetId}` : '';
    return `${d.kind} ${d.id}: ${d.change}${what}${target}`;
  });
  return shown.join('; ') + (differences.length > limit ? `; and ${differences.length - limit} more` : '');
}

export function checkTenantEquals(snapshotName: string, expected: DirectoryState, actual: DirectoryState): string | undefined {
  const differences = compareDirectories(expected, actual);
  return differences.length === 0
    ? undefined
    : `the tenant differs from snapshot ${snapshotName} in ${differences.length} place(s): ${showDifferences(differences)}`;
}
