import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {} from '@ekm/localstack/vitest-setup';
import { RULES } from '@ekm/domain';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { referenceProvider } from '@ekm/backup/conformance';
import { openWorld, type World } from '../src/world.ts';
import { runSuite } from '../src/suite.ts';
import { gate } from '../src/verdict.ts';
import { LEAKY_BREAKS, leakyProvider } from './support/leaky-provider.ts';

const scenarios = join(dirname(fileURLToPath(import.meta.url)), '../../../scenarios');

describe('a provider that breaks rules on purpose, through the protocol', () => {
  let world: World;
  beforeAll(async () => {
    world = await openWorld({ localstack: 'external', endpoint: inject('localstackEndpoint'), provider: referenceProvider() });
  });
  afterAll(async () => world?.close());

  it('[EKM-02][EKM-09] the whole suite fails exactly the rules the provider breaks and passes every other', async () => {
    const provider = leakyProvider();
    const { results } = await runSuite({ paths: [scenarios], executor: world.withProvider(provider), rules: RULES, concurrency: 2 });
    const failedRules = results.rules.filter((r) => r.status !== 'passed').map((r) => r.id);
    const failing = results.scenarios
      .filter((s) => s.status !== 'passed')
      .map((s) => `${s.id} [${s.rules.join(' ')}]: ${s.steps.find((x) => x.status !== 'passed')?.error ?? s.status}`);
    expect({ failedRules, failing }).toEqual({ failedRules: [...LEAKY_BREAKS], failing: expect.any(Array) });
    expect(results.rules.filter((r) => r.status === 'passed')).toHaveLength(RULES.length - LEAKY_BREAKS.length);
    expect(gate(results).ok).toBe(false);
  }, 600_000);
});
