/** Cross-references a schema cannot check: names used before the step that creates them, rules outside the catalogue. */
import type { Scenario, Step } from './format.ts';
import type { LoadOptions } from './load.ts';
import { suggest } from './words.ts';

type Path = readonly PropertyKey[];

/**
 * What the schema cannot see: names used before the step that creates them, rules
 * outside the catalogue. Returns [path, message] pairs.
 */
export function checkReferences(scenario: Scenario, options: LoadOptions): [Path, string][] {
  const problems: [Path, string][] = [];
  if (options.ruleIds !== undefined) {
    scenario.rules.forEach((rule, i) => {
      if (!options.ruleIds!.includes(rule)) {
        const near = suggest(rule, options.ruleIds!);
        problems.push([
          ['rules', i],
          `expected a rule id from the catalogue (EKM-01..), found "${rule}"${near !== undefined ? `; did you mean "${near}"?` : ''}`,
        ]);
      }
    });
  }
  const keys: string[] = [];
  const grants: string[] = [];
  const snapshots: string[] = [];
  const need = (kind: string, known: string[], name: string | undefined, path: Path): void => {
    if (name === undefined || known.includes(name)) return;
    const near = suggest(name, known);
    const hint = near !== undefined ? `; did you mean "${near}"?` : known.length > 0 ? ` (known: ${known.join(', ')})` : '';
    problems.push([path, `expected a ${kind} created by an earlier step, found "${name}"${hint}`]);
  };
  const tenantNames = Object.keys(scenario.tenants ?? {});
  const visit = (step: Step, at: Path): void => {
    const base: Path = [...at, step.action];
    const args = step.args as Record<string, unknown>;
    if (typeof args['tenant'] === 'string' && !tenantNames.includes(args['tenant'])) {
      const near = suggest(args['tenant'], tenantNames);
      problems.push([
        [...base, 'tenant'],
        `expected a tenant declared under tenants, found "${args['tenant']}"${near !== undefined ? `; did you mean "${near}"?` : tenantNames.length > 0 ? ` (declared: ${tenantNames.join(', ')})` : ' (the scenario declares no tenants)'}`,
      ]);
    }
    const str = (k: string): string | undefined => (typeof args[k] === 'string' ? (args[k] as string) : undefined);
    if (step.action === 'admin.createKey') {
      keys.push(step.args.key);
    } else if (step.action === 'admin.replicateKey') {
      need('key', keys, step.args.key, [...base, 'key']);
      keys.push(step.args.replica);
    } else {
      need('key', keys, str('key'), [...base, 'key']);
    }
    if (step.action === 'admin.createGrant') grants.push(step.args.grant);
    if (step.action === 'admin.revokeGrant') need('grant', grants, step.args.grant, [...base, 'grant']);
    const expect = step.expect;
    if (expect !== undefined) {
      const e: Path = [...at, 'expect'];
      need('key', keys, expect.status?.key, [...e, 'status', 'key']);
      for (const [j, name] of (expect.status?.unrecoverableSnapshots ?? []).entries())
        need('snapshot', snapshots, name, [...e, 'status', 'unrecoverableSnapshots', j]);
      for (const [j, c] of (expect.audit?.calls ?? []).entries()) need('key', keys, c.key, [...e, 'audit', 'calls', j, 'key']);
      need('snapshot', snapshots, expect.data?.tenantEquals, [...e, 'data', 'tenantEquals']);
      need('snapshot', snapshots, expect.data?.downloadContains, [...e, 'data', 'downloadContains']);
    }
    // Steps held inside this one run before it ends: they know what came before, not its snapshot.
    for (const [j, inner] of (step.during?.steps ?? []).entries()) visit(inner, [...at, 'during', 'steps', j]);
    if (step.action === 'workflow.restore' || step.action === 'workflow.download') {
      need('snapshot', snapshots, step.args.snapshot, [...base, 'snapshot']);
    }
    // A snapshot's name is known after its own step, so `expect.data` on that step may not use it yet.
    if ((step.action === 'workflow.scheduledBackup' || step.action === 'workflow.manualBackup') && step.args.snapshot !== undefined) {
      snapshots.push(step.args.snapshot);
    }
  };
  for (const [i, step] of scenario.steps.entries()) visit(step, ['steps', i]);
  return problems;
}
