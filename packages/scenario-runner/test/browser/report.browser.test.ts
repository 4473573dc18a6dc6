/**
 * The HTML report in a real browser (Debian's Chromium, headless, through playwright-core):
 * the failures are on the first screen, a failure link lands on its scenario and step, the
 * filter filters, the page works without script, and nothing logs an error. Part of the unit
 * run: without Chromium it fails and says how to install it.
 * EKM_REPORT_SCREENSHOTS=<dir> keeps a screenshot of each report there.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlReport } from '../../src/html/report-html.ts';
import { requireChromium } from './chromium.ts';
import { failingResults, passingResults } from './fixtures.ts';

const VIEWPORT = { width: 1280, height: 800 };
let browser: Browser | undefined;
/** Why there is no browser: every test fails with it (vitest would only mark them skipped after a failed beforeAll). */
let missing: Error | undefined;
let dir: string | undefined;
const url: Record<'passing' | 'failing', string> = { passing: '', failing: '' };
const failing = failingResults();

beforeAll(async () => {
  let executablePath: string;
  try {
    executablePath = requireChromium();
  } catch (e) {
    missing = e as Error;
    return;
  }
  dir = await mkdtemp(join(tmpdir(), 'ekm-report-browser-'));
  for (const [name, results] of [
    ['passing', passingResults()],
    ['failing', failing],
  ] as const) {
    const file = join(dir, `${name}.html`);
    await writeFile(file, htmlReport(results));
    url[name] = pathToFileURL(file).href;
  }
  // Chromium's sandbox refuses to start as root, which CI is.
  browser = await chromium.launch({ executablePath, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A page on one report, with every console error and page error it raised. */
async function open(name: 'passing' | 'failing', options: { javaScriptEnabled?: boolean } = {}): Promise<{ page: Page; problems: string[] }> {
  if (missing !== undefined) throw missing;
  const context = await browser!.newContext({ viewport: VIEWPORT, javaScriptEnabled: options.javaScriptEnabled ?? true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(url[name]);
  return { page, problems };
}

async function inFirstViewport(page: Page, selector: string): Promise<void> {
  const box = await page.locator(selector).first().boundingBox();
  expect(box, `${selector} is rendered`).not.toBeNull();
  expect(box!.y, `${selector} starts on the first screen`).toBeGreaterThanOrEqual(0);
  expect(box!.y + box!.height, `${selector} ends on the first screen`).toBeLessThanOrEqual(VIEWPORT.height);
}

async function inViewport(page: Page, selector: string): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  expect(box, `${selector} is rendered`).not.toBeNull();
  expect(box!.y, `${selector} is scrolled to`).toBeGreaterThanOrEqual(0);
  expect(box!.y, `${selector} is scrolled to`).toBeLessThan(VIEWPORT.height);
}

const visibleCount = (page: Page, selector: string): Promise<number> =>
  page.locator(selector).evaluateAll((els) => els.filter((e) => (e as { checkVisibility(): boolean }).checkVisibility()).length);

/** The first screen, and the matrix as a whole, when EKM_REPORT_SCREENSHOTS names a folder. */
async function shot(page: Page, name: string): Promise<void> {
  const keep = process.env['EKM_REPORT_SCREENSHOTS'];
  if (keep === undefined || keep === '') return;
  await page.screenshot({ path: join(keep, `${name}.png`) });
  await page.locator('#matrix-section').screenshot({ path: join(keep, `${name}-matrix.png`) });
}

describe('the HTML report in Chromium', () => {
  it('shows the failing verdict and the first failures on the first screen, and no injected markup ran', async () => {
    const { page, problems } = await open('failing');
    expect(await page.locator('h1').innerText()).toBe('EKM conformance: FAILED'); // upper-cased by the style sheet
    await inFirstViewport(page, '#verdict');
    await inFirstViewport(page, '#failures h2');
    await inFirstViewport(page, '#failures ol.failures > li:nth-child(2)');
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('#failures').innerText()).toContain('<script>window.__pwned=1</script>');
    await shot(page, 'failing');
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('shows the passing verdict and "No failures." on the first screen', async () => {
    const { page, problems } = await open('passing');
    expect(await page.locator('h1').innerText()).toBe('EKM conformance: PASSED');
    await inFirstViewport(page, '#failures .none');
    await shot(page, 'passing');
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('takes a failure link to its failing step, scrolled into view', async () => {
    const { page, problems } = await open('failing');
    const step = 's-revoke-disable-scheduled-backup-step-2';
    await page.locator(`#failures a[href="#${step}"]`).click();
    await page.waitForFunction(`location.hash === '#${step}'`);
    expect(await page.evaluate(`document.getElementById('s-revoke-disable-scheduled-backup').open`)).toBe(true);
    await inViewport(page, `#${step}`);
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('opens a closed scenario when a link leads into it', async () => {
    const { page, problems } = await open('failing');
    const id = 's-needs-multi-region';
    expect(await page.evaluate(`document.getElementById('${id}').open`)).toBe(false);
    await page.locator(`#not-run a[href="#${id}"]`).click();
    await page.waitForFunction(`location.hash === '#${id}' && document.getElementById('${id}').open`);
    await inViewport(page, `#${id}`);
    // A matrix cell leads to its scenario too.
    await page.locator(`#matrix td a[href="#s-zz-faults-lose-a-snapshot"]`).first().click();
    await page.waitForFunction(`location.hash === '#s-zz-faults-lose-a-snapshot'`);
    await inViewport(page, '#s-zz-faults-lose-a-snapshot');
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('filters scenarios, matrix columns and rows by status, rule and tag', async () => {
    const { page, problems } = await open('failing');
    const all = failing.scenarios.length;
    expect(await page.locator('#filter').isVisible()).toBe(true);
    expect(await page.locator('#shown').innerText()).toBe(`all ${all} scenarios shown`);

    await page.selectOption('#filter select[name=status]', 'failed');
    expect(await visibleCount(page, 'details.scn')).toBe(2);
    expect(await visibleCount(page, '#matrix thead th.col')).toBe(2);
    expect(await visibleCount(page, '#matrix tbody td')).toBe(2 * failing.rules.length);
    expect(await page.locator('#shown').innerText()).toBe(`2 of ${all} scenarios shown`);

    await page.selectOption('#filter select[name=status]', '');
    const last = failing.rules[failing.rules.length - 1]!.id;
    await page.selectOption('#filter select[name=rule]', last);
    expect(await visibleCount(page, '#matrix tbody tr')).toBe(1);
    expect(await visibleCount(page, 'details.scn')).toBe(2); // the not-applicable and the skipped scenario
    expect(await visibleCount(page, '#not-run tbody tr')).toBe(2);

    await page.selectOption('#filter select[name=rule]', '');
    await page.selectOption('#filter select[name=tag]', 'backup');
    const backup = failing.scenarios.filter((s) => (s as { tags?: readonly string[] }).tags?.includes('backup')).length;
    expect(backup).toBeGreaterThan(0);
    expect(await visibleCount(page, 'details.scn')).toBe(backup);

    // A failure link into a filtered-out scenario clears the filter rather than lead nowhere.
    await page.locator('#failures a[href="#s-revoke-disable-scheduled-backup"]').first().click();
    await page.waitForFunction(`location.hash === '#s-revoke-disable-scheduled-backup'`);
    await inViewport(page, '#s-revoke-disable-scheduled-backup');
    expect(await page.locator('#shown').innerText()).toBe(`all ${all} scenarios shown`);

    await page.selectOption('#filter select[name=status]', 'passed');
    await page.locator('#filter button[type=reset]').click();
    await page.waitForFunction(`document.getElementById('shown').textContent.startsWith('all')`);
    expect(await visibleCount(page, 'details.scn')).toBe(all);
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('stays readable without script: no filter, failures first, failed scenarios open', async () => {
    const { page, problems } = await open('failing', { javaScriptEnabled: false });
    expect(await page.locator('#filter').isVisible()).toBe(false);
    await inFirstViewport(page, '#failures ol.failures > li:first-child');
    expect(await visibleCount(page, 'details.scn')).toBe(failing.scenarios.length);
    expect(await page.locator('#s-revoke-disable-scheduled-backup-step-2').isVisible()).toBe(true);
    await page.context().close();
    expect(problems).toEqual([]);
  });
});
