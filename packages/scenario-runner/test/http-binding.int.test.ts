import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {} from '@ekm/localstack/vitest-setup';
import { RULES } from '@ekm/domain';
import { referenceProvider } from '@ekm/backup/conformance';
import { httpProvider, serveProvider, type ServedProvider } from '@ekm/protocol';
import { answerChecker } from '@ekm/protocol/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openWorld, type World } from '../src/world.ts';
import { runSuite } from '../src/suite.ts';

const scenarios = join(dirname(fileURLToPath(import.meta.url)), '../../../scenarios');
// Every actor and capability: console phases, tampering (store.tamper), an update left in
// progress (update.inProgress), revocation, downloads.
const PATHS = ['console/refusals.yaml', 'isolation', 'update/in-progress.yaml', 'revocation/disable.yaml', 'workflows', 'running'].map((p) =>
  join(scenarios, p),
);

describe('the reference provider over the HTTP binding', () => {
  let world: World;
  let served: ServedProvider;
  beforeAll(async () => {
    world = await openWorld({ localstack: 'external', endpoint: inject('localstackEndpoint'), provider: referenceProvider() });
    served = await serveProvider(referenceProvider());
  });
  afterAll(async () => {
    await served?.close();
    await world?.close();
  });

  it('[EKM-11][EKM-15][EKM-19][EKM-20] gives every scenario (held and crashing work included) the verdict it gets in process, and every answer is what openapi.yaml documents', async () => {
    const check = answerChecker();
    const problems: string[] = [];
    const answers = new Set<string>();
    const http = await httpProvider(served.url, { observe: (id, status, body) => (answers.add(id), problems.push(...check(id, status, body))) });
    const over = await runSuite({ paths: PATHS, executor: world.withProvider(http), rules: RULES, concurrency: 2 });
    const inProcess = await runSuite({ paths: PATHS, executor: world.executor, rules: RULES, concurrency: 2 });
    const verdicts = (r: typeof over) => Object.fromEntries(r.results.scenarios.map((s) => [s.id, s.status]));
    expect(over.results.scenarios.length).toBeGreaterThan(5);
    // Why a scenario did not pass, so a failure here says which step, not only which verdict.
    const why = (r: typeof over) =>
      r.results.scenarios.filter((s) => s.status !== 'passed').map((s) => `${s.id}: ${s.steps.find((x) => x.error !== undefined)?.error}`);
    expect({ over: why(over), inProcess: why(inProcess) }).toEqual({ over: [], inProcess: [] });
    expect(verdicts(over)).toEqual(verdicts(inProcess));
    expect(Object.values(verdicts(over)).every((v) => v === 'passed')).toBe(true);
    expect(problems).toEqual([]);
    for (const op of [
      'openSession',
      'closeSession',
      'activate',
      'submitKey',
      'acceptTerms',
      'updateKey',
      'completeUpdate',
      'backup',
      'restore',
      'download',
      'snapshots',
      'tamper',
      'view',
    ])
      expect(answers).toContain(op);
  }, 600_000);
});
