/**
 * Results for the HTML report's tests, built the way a run builds them (`buildResults` over
 * the real catalogue), with hostile text where scenario files and executors put text.
 */
import { RULES } from '@ekm/domain';
import type { Results, ScenarioResult, StepResult } from '../../src/results.ts';
import { buildResults } from '../../src/results.ts';
import { withVerdict } from '../../src/verdict.ts';

/** Text no report may render as markup. */
export const HOSTILE = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"'&`;

const catalogue = RULES.map(({ id, title, kind, quote }) => ({ id, title, kind, quote }));

function step(title: string, status: StepResult['status'], extra: Partial<StepResult> = {}): StepResult {
  return { title, status, kmsCalls: [], durationMs: 12, ...extra };
}

type Scenario = ScenarioResult & { readonly tags?: readonly string[] };

function scenario(id: string, rules: string[], status: string, extra: Partial<Scenario> = {}): Scenario {
  const steps =
    status === 'failed'
      ? [
          step('support activates EKM', 'passed', { line: 7 }),
          step('the next scheduled backup', 'failed', { line: 12, error: `expected outcome KeyDisabled, got ok\n${HOSTILE}` }),
          step('restore', 'skipped'),
        ]
      : [
          step('support activates EKM', status === 'passed' ? 'passed' : 'skipped', { line: 7 }),
          step('enable the key', status === 'passed' ? 'passed' : 'skipped', { line: 9 }),
        ];
  return {
    id,
    title: `Scenario ${id}`,
    file: `scenarios/${id}.yaml`,
    status: status as ScenarioResult['status'],
    rules,
    durationMs: 100,
    steps,
    tags: ['smoke'],
    ...extra,
  };
}

/** Every rule covered by `perRule` passing scenarios, `count` scenarios in all. */
function passingScenarios(count: number): Scenario[] {
  return Array.from({ length: count }, (_, i) => {
    const rule = catalogue[i % catalogue.length]!.id;
    return scenario(`case-${String(i).padStart(3, '0')}-${rule.toLowerCase()}-happy-path-with-long-name`, [rule], 'passed', {
      tags: i % 2 === 0 ? ['smoke', 'revocation'] : ['backup'],
    });
  });
}

const provenance = {
  startedAt: '2026-12-01T10:00:00.000Z',
  harness: { name: '@ekm/cli', version: '0.1.0', commit: '0123456789abcdef0123456789abcdef01234567' },
  scenarioFilesSha256: 'a'.repeat(64),
  scenarioFiles: [],
  node: 'v22.0.0',
  platform: 'linux-x64',
  localstack: { mode: 'host', endpoint: 'http://127.0.0.1:4566', version: '4.10.0' },
  seeds: { tenant: 7 },
};

const provider = {
  name: 'reference',
  version: '1.0.0',
  protocol: 'ekm.provider/v1',
  binding: 'in-process' as const,
  capabilities: ['multi-region', 'imported-material'],
};

export function passingResults(count = 42): Results {
  const built = buildResults(passingScenarios(count), { rules: catalogue, durationMs: 45_000, provider });
  return withVerdict({ ...built, provenance, secretScan: { keys: 12, places: 40, bytes: 123_456, findings: [] } });
}

/** Failed scenarios, an uncovered rule, a leaked key, a lost workflow, an invalid file, and scenarios that did not run. */
export function failingResults(count = 42): Results {
  const last = catalogue[catalogue.length - 1]!.id;
  const passing = passingScenarios(count).filter((s) => !s.rules.includes(last));
  const scenarios: Scenario[] = [
    ...passing,
    scenario('revoke-disable-scheduled-backup', ['EKM-12', 'EKM-19'], 'failed', { title: `Disabling the key ${HOSTILE}`, tags: ['revocation', HOSTILE] }),
    scenario('zz-faults-lose-a-snapshot', ['EKM-03'], 'failed', {
      reliability: { 'kms-throttle': { attempted: 5, succeeded: 3, failedCleanly: 1, failedBadly: 0, lost: 1 } },
    }),
    scenario('needs-multi-region', [last], 'not-applicable', { reason: 'needs capability multi-region-replicas, which the provider does not declare' }),
    scenario('skipped-here', [last], 'skipped', {
      steps: [step('import key material', 'skipped', { error: 'LocalStack 4.10 cannot import key material of this spec' })],
    }),
  ];
  const built = buildResults(scenarios, {
    rules: catalogue,
    durationMs: 50_000,
    provider,
    errors: [`scenarios/broken.yaml:3:5: expected a mapping, found ${HOSTILE}`],
  });
  return withVerdict({
    ...built,
    provenance,
    secretScan: { keys: 12, places: 40, bytes: 123_456, findings: [{ where: `snapshots/t1/${HOSTILE}.json`, kind: 'tenant', encoding: 'base64' as const }] },
  });
}
