/** Where a run came from: recorded in results.json, junit.xml and index.html, and checked by `ekm verify`. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Provenance } from '@ekm/scenario-runner';
import { gitCommit, HARNESS } from './version.ts';

/** SHA-256 of each file, and one over all of them: sorted display path, NUL, content, NUL each. */
export async function hashFiles(files: readonly string[], cwd: string): Promise<Pick<Provenance, 'scenarioFiles' | 'scenarioFilesSha256'>> {
  const sorted = [...new Set(files)].sort();
  const all = createHash('sha256');
  const each: { file: string; sha256: string }[] = [];
  for (const file of sorted) {
    const body = await readFile(isAbsolute(file) ? file : join(cwd, file));
    each.push({ file, sha256: createHash('sha256').update(body).digest('hex') });
    all.update(file).update('\0').update(body).update('\0');
  }
  return { scenarioFiles: each, scenarioFilesSha256: all.digest('hex') };
}

export async function provenance(options: {
  readonly startedAt: Date;
  readonly files: readonly string[];
  readonly cwd: string;
  readonly localstack?: { readonly mode: string; readonly endpoint: string } | undefined;
}): Promise<Provenance> {
  const commit = gitCommit();
  const ls = options.localstack;
  return {
    startedAt: options.startedAt.toISOString(),
    harness: { ...HARNESS, ...(commit === undefined ? {} : { commit }) },
    ...(await hashFiles(options.files, options.cwd)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    ...(ls === undefined ? {} : { localstack: { mode: ls.mode, endpoint: ls.endpoint, ...(await localstackVersion(ls.endpoint)) } }),
  };
}

async function localstackVersion(endpoint: string): Promise<{ version?: string }> {
  try {
    const r = await fetch(`${endpoint.replace(/\/+$/, '')}/_localstack/health`, { signal: AbortSignal.timeout(2000) });
    const v = ((await r.json()) as { version?: unknown }).version;
    return typeof v === 'string' ? { version: v } : {};
  } catch {
    return {};
  }
}
