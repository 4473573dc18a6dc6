// The compiled CLI (build.mjs → dist/) answers as the sources do, and the bin runs it only while it is fresh.
import { execFile } from 'node:child_process';
import { existsSync, utimesSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const app = fileURLToPath(new URL('..', import.meta.url));
const bin = `${app}bin/ekm.mjs`;

describe('the compiled ekm', () => {
  it('builds, answers --version and --help like the sources, and is not used once a source is newer', async () => {
    await run(process.execPath, [`${app}build.mjs`], { cwd: app });
    expect(existsSync(`${app}dist/ekm.js`)).toBe(true);
    const compiled = await run(process.execPath, [bin, '--version'], { env: { ...process.env, EKM_REPORT_BIN: '1' } });
    const sources = await run(process.execPath, [bin, '--version'], { env: { ...process.env, EKM_FROM_SOURCES: '1', EKM_REPORT_BIN: '1' } });
    expect(compiled.stdout).toBe(sources.stdout);
    expect(compiled.stderr).toContain('ekm: running apps/cli/dist');
    expect(sources.stderr).toContain('ekm: running the sources');
    const help = await run(process.execPath, [bin, 'run', '--help']);
    expect(help.stdout).toMatch(/^usage: ekm run/);
    // A source edited after the build: the bin runs the sources, never a stale build.
    const now = new Date(Date.now() + 5_000);
    utimesSync(`${app}src/version.ts`, now, now);
    const stale = await run(process.execPath, [bin, '--version'], { env: { ...process.env, EKM_REPORT_BIN: '1' } });
    expect(stale.stderr).toContain('ekm: running the sources');
    await run(process.execPath, [`${app}build.mjs`], { cwd: app });
  }, 120_000);
});
