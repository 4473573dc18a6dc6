/** The three files a run leaves in `--out`: results.json, junit.xml and index.html. */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Results } from './results.ts';
export { classname, failureMessage, junitXml } from './junit.ts';
import { junitXml } from './junit.ts';
import { htmlReport } from './html/report-html.ts';

export const RESULTS_FILE = 'results.json';
export const JUNIT_FILE = 'junit.xml';
export const HTML_FILE = 'index.html';
export const AUDIT_FILE = 'kms-audit.jsonl';
export const SUMS_FILE = 'SHA256SUMS';

export async function writeReports(results: Results, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const files: [string, string][] = [
    [RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`],
    [JUNIT_FILE, junitXml(results)],
    [HTML_FILE, htmlReport(results)],
  ];
  for (const [name, text] of files) await writeFile(join(outDir, name), text);
  // The bundle's checksums, in the format `sha256sum -c` reads: what `ekm verify` checks first.
  const sums: string[] = [];
  for (const name of [...files.map(([n]) => n), AUDIT_FILE]) {
    const body = await readFile(join(outDir, name)).catch(() => undefined);
    if (body !== undefined) sums.push(`${createHash('sha256').update(body).digest('hex')}  ${name}`);
  }
  await writeFile(join(outDir, SUMS_FILE), `${sums.join('\n')}\n`);
  return [...files.map(([name]) => join(outDir, name)), join(outDir, SUMS_FILE)];
}

export { htmlReport } from './html/report-html.ts';
