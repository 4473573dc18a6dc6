import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type {} from '@ekm/localstack/vitest-setup';
import { referenceProvider } from '@ekm/backup/conformance';
import { staleTenantKeyCache } from '@ekm/backup/testing';
import { loadText } from '../src/load.ts';
import { explore, type ExploreWorld } from '../src/explore/explore.ts';
import { openWorld } from '../src/world.ts';

// The planted bug lives in the reference provider's options, injected here: the harness never knows it.
const planted = referenceProvider({ wrapKeyPort: staleTenantKeyCache });
const NOTE =
  "Found with the test-only planted bug 'stale-tenant-key-cache' (staleTenantKeyCache from @ekm/backup/testing, wrapping the provider's key port); the real provider passes it.";

describe('model-based explorer', () => {
  let world: ExploreWorld;
  const out = mkdtempSync(join(tmpdir(), 'ekm-explore-'));

  beforeAll(async () => {
    const endpoint = inject('localstackEndpoint');
    world = await openWorld({ localstack: 'external', endpoint, provider: referenceProvider() });
  });

  afterAll(async () => {
    await world?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('[EKM-12][EKM-19] finds a planted tenant-key cache, shrinks it to at most 6 commands, and the written scenario fails with the bug and passes without', async () => {
    const report = await explore({ runs: 40, seed: 34, maxCommands: 16, out, world, provider: planted, providerNote: NOTE });
    expect(report.status).toBe('failed');
    const found = report.counterexample!;
    expect(found.rule).toBe('EKM-19');
    expect(found.commands).toBeLessThanOrEqual(6);
    expect(found.replayed).toBe('failed');
    expect(report.replay).toBe(`ekm run ${found.file}`);
    expect(report.lines.join('\n')).toContain(report.replay);

    const file = join(out, 'EKM-19-34.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# .*seed: 34, maxCommands: 16, path: '[\d:]+'/m);
    expect(text).toContain("planted bug 'stale-tenant-key-cache'");
    const loaded = loadText(text, file);
    expect(loaded.errors).toEqual([]);
    expect(loaded.scenarios).toHaveLength(1);
    const scenario = loaded.scenarios[0]!;
    expect(scenario.scenario.rules).toContain('EKM-19');

    const withBug = await world.withProvider(planted)(scenario, { signal: new AbortController().signal, index: 0 });
    expect(withBug.status).toBe('failed');
    const withoutBug = await world.executor(scenario, { signal: new AbortController().signal, index: 0 });
    expect(withoutBug.steps.filter((s) => s.status !== 'passed')).toEqual([]);
    expect(withoutBug.status).toBe('passed');
  });

  it('[EKM-19] every regression scenario the explorer wrote passes on the provider and fails with the bug it was found with', async () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../scenarios/regressions');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const text = readFileSync(join(dir, name), 'utf8');
      const loaded = loadText(text, name);
      expect(loaded.errors).toEqual([]);
      for (const scenario of loaded.scenarios) {
        const ctx = { signal: new AbortController().signal, index: 0 };
        const clean = await world.executor(scenario, ctx);
        expect({ name, failed: clean.steps.filter((s) => s.status !== 'passed') }).toEqual({ name, failed: [] });
        const bug = /planted bug '([a-z-]+)'/.exec(text)?.[1];
        if (bug === 'stale-tenant-key-cache') expect((await world.withProvider(planted)(scenario, ctx)).status).toBe('failed');
      }
    }
  });

  it('[EKM-11][EKM-12][EKM-13] a short exploration with a fixed seed agrees with the model and writes nothing', async () => {
    const quiet = mkdtempSync(join(tmpdir(), 'ekm-explore-clean-'));
    try {
      const report = await explore({ runs: 12, seed: 20261128, maxCommands: 16, out: quiet, world });
      expect(report.lines).toEqual([expect.stringContaining('agree with the model')]);
      expect(report.status).toBe('passed');
      expect(report.sequences).toBeGreaterThan(0);
      expect(report.longest).toBeGreaterThan(3);
      expect(readdirSync(quiet)).toEqual([]);
    } finally {
      rmSync(quiet, { recursive: true, force: true });
    }
  });
});
