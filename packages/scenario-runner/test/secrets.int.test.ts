import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from '@ekm/localstack/vitest-setup';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { referenceProvider } from '@ekm/backup/conformance';
import { loadText } from '../src/load.ts';
import { SecretScanner } from '../src/secrets.ts';
import { openWorld } from '../src/world.ts';

const SCENARIO = `apiVersion: ekm.conformance/v1
kind: Scenario
id: secret-scan-probe
title: every kind of key passes through the provider
rules: [EKM-19, EKM-20]
steps:
  - support.activate:
  - admin.createKey: { key: A, origin: EXTERNAL }
  - admin.importKeyMaterial: A
  - workflow.manualBackup: before
  - console.enable: A
  - workflow.manualBackup: s1
  - workflow.restore: before
    expect: { data: { tenantEquals: before } }
  - workflow.download: s1
    expect: { data: { downloadContains: s1 } }
`;

const dir = mkdtempSync(join(tmpdir(), 'ekm-secret-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('secret scan over a run', () => {
  it('[EKM-19] holds every tenant key, data key and imported material of the run, and finds none of them in what the run wrote', async () => {
    const scanner = new SecretScanner();
    const auditFile = join(dir, 'kms-audit.jsonl');
    // The provider's own observer option tells the scan its keys; the test holds them too, to show the scan would have found them.
    const held: { key: Uint8Array; kind: string }[] = [];
    const provider = referenceProvider({
      onKeyMaterial: (key, kind) => {
        scanner.add(key, kind);
        held.push({ key, kind });
      },
    });
    const world = await openWorld({ localstack: 'external', endpoint: inject('localstackEndpoint'), secrets: scanner, auditFile, provider });
    let passed: string;
    try {
      const loaded = loadText(SCENARIO, 'probe.yaml');
      expect(loaded.errors).toEqual([]);
      passed = (await world.executor(loaded.scenarios[0]!, { signal: new AbortController().signal, index: 0 })).status;
    } finally {
      await world.close();
    }
    expect(passed).toBe('passed');
    const kinds = new Set(held.map((h) => h.kind));
    expect(kinds).toEqual(new Set(['tenant-key', 'data-key']));
    const summary = scanner.summary();
    const distinct = new Set(held.map((h) => Buffer.from(h.key).toString('hex'))).size;
    expect(summary.keys).toBe(distinct + 1); // + the imported material
    // Two snapshots (a data object and a manifest each: format 2), the key journal, the account record,
    // the Cloud KM key record, the download and the audit trail.
    expect(summary.places).toBeGreaterThanOrEqual(9);
    expect(summary.findings).toEqual([]);

    // The same scanner does find a held key once it is written somewhere.
    const leak = held.find((h) => h.kind === 'tenant-key')!.key;
    scanner.scan('a leaky log line', `unwrapped tenant key=${Buffer.from(leak).toString('base64')} for t-1`);
    expect(scanner.summary().findings).toEqual([{ where: 'a leaky log line', kind: 'tenant-key', encoding: 'base64' }]);
  });
});
