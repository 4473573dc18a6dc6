// The compiled CLI (build.mjs) answers as the sources do, and the bin runs a build only while
// it is newer than every source file. The build goes to a temporary folder, so the checkout's
// own dist/ (which other tests' bin calls use) is never rebuilt under them.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const app = fileURLToPath(new URL('..', import.meta.url));
const bin = `${app}bin/ekm.mjs`;
const outdir = mkdtempSync(join(tmpdir(), 'ekm-dist-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the compiled ekm', () => {
  it('builds, answers --version and --help like the sources, and is not run once a source is newer than the build', async () => {
    const { buildCli } = (await import(`${app}build.mjs`)) as { buildCli: (o: { quiet: boolean; outdir: string }) => Promise<void> };
    await buildCli({ quiet: true, outdir });
    expect(existsSync(join(outdir, 'ekm.js'))).toBe(true);
    const env = { ...process.env, EKM_DIST_DIR: outdir, EKM_REPORT_BIN: '1' };
    const compiled = await run(process.execPath, [bin, '--version'], { env });
    const sources = await run(process.execPath, [bin, '--version'], { env: { ...env, EKM_FROM_SOURCES: '1' } });
    expect(compiled.stderr).toContain('ekm: running apps/cli/dist');
    expect(sources.stderr).toContain('ekm: running the sources');
    expect(compiled.stdout).toBe(sources.stdout);
    const help = await run(process.execPath, [bin, 'run', '--help'], { env });
    expect(help.stdout).toMatch(/^usage: ekm run/);
    // A build older than the sources is never run.
    utimesSync(join(outdir, '.built'), new Date(0), new Date(0));
    const stale = await run(process.execPath, [bin, '--version'], { env });
    expect(stale.stderr).toContain('ekm: running the sources');
    expect(stale.stdout).toBe(sources.stdout);
  }, 180_000);
});
