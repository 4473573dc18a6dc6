// A scenario that needs a capability the provider under test does not declare is reported
// not-applicable with the reason, in every report, and neither passes nor fails anything.
import { describe, expect, it } from 'vitest';
import { PROTOCOL, type ProviderBinding } from '@ekm/protocol';
import { loadText } from '../src/load.ts';
import { htmlReport, junitXml } from '../src/report.ts';
import { buildResults, parseResults } from '../src/results.ts';
import { gate } from '../src/verdict.ts';
import { ScenarioRun, type WorldParts } from '../src/world/run.ts';

const TAMPER = `apiVersion: ekm.conformance/v1
kind: Scenario
id: tamper-needs-capability
title: a tampered snapshot is refused
rules: [EKM-20]
steps:
  - support.activate:
  - admin.createKey: A
  - console.enable: A
  - workflow.manualBackup: s1
  - store.tamper: { snapshot: s1, mode: flipByte }
`;

const bare: ProviderBinding = {
  info: { protocol: PROTOCOL, name: 'bare-provider', version: '9.9.9', capabilities: [] },
  open: () => Promise.reject(new Error('a not-applicable scenario must not open the provider')),
};

// Nothing here is reached: the capability check comes before the world is touched.
const parts = {
  localstackEndpoint: 'http://127.0.0.1:1',
  gateway: { endpoint: 'http://127.0.0.1:1' },
  graph: { url: 'http://127.0.0.1:1', registry: { add() {}, remove() {} } },
  region: 'us-east-1',
  provider: bare,
} as unknown as WorldParts;

describe('not-applicable scenarios', () => {
  it('[EKM-20] a scenario using store.tamper against a provider without the capability is not-applicable with its reason everywhere, and fails no gate', async () => {
    const loaded = loadText(TAMPER, 'scenarios/isolation/t.yaml').scenarios[0]!;
    const result = await new ScenarioRun(parts, loaded).run();
    expect(result.status).toBe('not-applicable');
    expect(result.reason).toBe('the provider under test (bare-provider 9.9.9) does not declare capability store.tamper');
    expect(result.steps).toEqual([]);

    const other = { ...result, id: 'context-proof', status: 'passed' as const, reason: undefined, steps: [] };
    const results = buildResults([result, other], {
      rules: [{ id: 'EKM-20', title: 't', kind: 'derived', quote: 'q' }],
      durationMs: 1,
      provider: { name: 'bare-provider', version: '9.9.9', protocol: PROTOCOL, binding: 'in-process', capabilities: [] },
    });
    expect(results.summary).toMatchObject({ scenarios: 2, passed: 1, failed: 0, notApplicable: 1 });
    expect(results.rules[0]!.status).toBe('passed');
    expect(gate(results)).toEqual({ ok: true, reasons: [] });
    expect(parseResults(JSON.stringify(results), 'r.json').scenarios.find((s) => s.id === result.id)?.reason).toBe(result.reason);
    expect(junitXml(results)).toContain(`<skipped message="not applicable: ${result.reason}"/>`);
    const page = htmlReport(results);
    expect(page).toContain(`not applicable: ${result.reason}`);
    expect(page).toContain('Provider under test: <b>bare-provider 9.9.9</b>');
  });

  it('[EKM-20] a rule whose only scenarios are not applicable is uncovered, and the gate says why', async () => {
    const loaded = loadText(TAMPER, 'scenarios/isolation/t.yaml').scenarios[0]!;
    const result = await new ScenarioRun(parts, loaded).run();
    const results = buildResults([result], { rules: [{ id: 'EKM-20', title: 't', kind: 'derived', quote: 'q' }], durationMs: 1 });
    expect(results.rules[0]!.status).toBe('uncovered');
    expect(gate(results).reasons).toEqual(['rule EKM-20 has no applicable scenario (1 not applicable to the provider under test)']);
  });
});
