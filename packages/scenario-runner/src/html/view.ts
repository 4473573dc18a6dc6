/**
 * What the page reads from `Results`. Written as its own (wider) shape so that the page also
 * renders results.json files of earlier runs, where the newer fields are absent.
 */
import type { KmsCall, Results, StepResult, WorkflowTally } from '../results.ts';

export interface ViewScenario {
  readonly id: string;
  readonly title: string;
  readonly file: string;
  readonly status: string;
  readonly reason?: string;
  readonly rules: readonly string[];
  readonly tags?: readonly string[];
  readonly durationMs: number;
  readonly steps: readonly StepResult[];
  readonly reliability?: Readonly<Record<string, WorkflowTally>>;
}

export interface ViewVerdict {
  readonly ok: boolean;
  readonly status: 'passed' | 'failed' | 'interrupted';
  readonly scope: 'full' | 'partial';
  readonly reasons: readonly string[];
}

export interface ViewProvenance {
  readonly startedAt: string;
  readonly harness: { readonly name: string; readonly version: string; readonly commit?: string };
  readonly scenarioFilesSha256: string;
  readonly scenarioFiles?: readonly { readonly file: string; readonly sha256: string }[];
  readonly node: string;
  readonly platform: string;
  readonly localstack?: { readonly mode: string; readonly endpoint: string; readonly version?: string };
  readonly seeds?: Readonly<Record<string, number>>;
}

export interface View {
  readonly summary: Results['summary'];
  readonly verdict?: ViewVerdict;
  readonly selection?: { readonly paths: readonly string[]; readonly full: boolean; readonly requireAllRules: boolean };
  readonly interrupted?: { readonly signal: string };
  readonly provenance?: ViewProvenance;
  readonly provider?: Results['provider'];
  readonly rules: Results['rules'];
  readonly scenarios: readonly ViewScenario[];
  readonly transitions: Results['transitions'];
  readonly errors: readonly string[];
  readonly secretScan?: Results['secretScan'];
  readonly reliability?: Readonly<Record<string, WorkflowTally>>;
  readonly shard?: Results['shard'];
  readonly grep?: string;
}

export type { KmsCall, StepResult, WorkflowTally };

/** The step a failed scenario is reported at: the first failed or errored step, else the first skipped one with a reason (as `failedStep`). */
export function failingStep(s: ViewScenario): { n: number; step: StepResult } | undefined {
  let i = s.steps.findIndex((x) => x.status === 'failed' || x.status === 'error');
  if (i < 0) i = s.steps.findIndex((x) => x.status === 'skipped' && x.error !== undefined);
  const step = s.steps[i];
  return step === undefined ? undefined : { n: i + 1, step };
}

/** Why a scenario did not run: its `reason`, else its first skipped step's. */
export function notRunReason(s: ViewScenario): string {
  return s.reason ?? s.steps.find((x) => x.status === 'skipped' && x.error !== undefined)?.error ?? 'no reason recorded';
}
