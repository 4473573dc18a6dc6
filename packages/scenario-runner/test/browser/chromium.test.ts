import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, requireChromium } from './chromium.ts';

const ENSURE = fileURLToPath(new URL('./ensure-chromium.mjs', import.meta.url));
let dir = '';
let fake = '';
let plain = '';
let onPath = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ekm-chromium-find-'));
  fake = join(dir, 'my-chromium');
  plain = join(dir, 'not-executable');
  onPath = join(dir, 'bin');
  await writeFile(fake, '#!/bin/sh\n');
  await chmod(fake, 0o755);
  await writeFile(plain, '');
  await mkdir(onPath);
  await writeFile(join(onPath, 'chromium-browser'), '#!/bin/sh\n');
  await chmod(join(onPath, 'chromium-browser'), 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('findChromium', () => {
  it('takes CHROMIUM_PATH first', () => {
    expect(findChromium({ CHROMIUM_PATH: fake, PATH: onPath }, [])).toBe(fake);
  });

  it('refuses a CHROMIUM_PATH that is not an executable file, naming it and how to install', () => {
    expect(() => findChromium({ CHROMIUM_PATH: plain }, [])).toThrow(`CHROMIUM_PATH is ${plain}, which is not an executable file; install it with`);
    expect(() => findChromium({ CHROMIUM_PATH: dir }, [])).toThrow('not an executable file');
  });

  it('takes the fixed places before PATH, then chromium or chromium-browser on PATH', () => {
    expect(findChromium({ PATH: onPath }, [plain, fake])).toBe(fake);
    expect(findChromium({ PATH: `${dir}:${onPath}` }, [])).toBe(join(onPath, 'chromium-browser'));
  });

  it('finds none, and requireChromium says how to install it', () => {
    expect(findChromium({ PATH: dir }, [])).toBeUndefined();
    expect(() => requireChromium({ PATH: dir }, ['/nowhere/chromium'])).toThrow(
      /expected Chromium .* found none \(CHROMIUM_PATH unset, no \/nowhere\/chromium, no chromium or chromium-browser on PATH\): install it with `node packages\/scenario-runner\/test\/browser\/ensure-chromium\.mjs`/,
    );
  });
});

describe('ensure-chromium.mjs', () => {
  const run = (env: Record<string, string>) => spawnSync(process.execPath, [ENSURE], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8' });

  it('prints the Chromium it finds and installs nothing', () => {
    const r = run({ CHROMIUM_PATH: fake });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`ensure-chromium: Chromium found at ${fake}\n`);
  });

  it('fails clearly on a CHROMIUM_PATH that is not Chromium', () => {
    const r = run({ CHROMIUM_PATH: plain });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`ensure-chromium: CHROMIUM_PATH is ${plain}, which is not an executable file`);
  });
});
