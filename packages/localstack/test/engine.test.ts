import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectMode, probeEngines } from '../src/index.ts';
import { fakeEngine } from './fake-engine.ts';

const bin = fileURLToPath(new URL('../bin/ekm-localstack.mjs', import.meta.url));
let dir: string;

/** Runs the bin without blocking this process, whose event loop serves the fake engine. */
function runBin(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A PATH folder holding only node, npm and Python stand-ins that leave a mark when run. */
function restrictedPath(): { path: string; asked: string } {
  const path = join(dir, 'bin');
  const asked = join(dir, 'python-was-asked');
  mkdirSync(path, { recursive: true });
  symlinkSync(process.execPath, join(path, 'node'));
  const npm = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'npm')).find((p) => existsSync(p));
  if (!npm) throw new Error('npm not found on PATH: the test needs it to build the restricted PATH');
  symlinkSync(realpathSync(npm), join(path, 'npm'));
  for (const python of ['python', 'python3', 'python3.10', 'python3.11']) {
    writeFileSync(join(path, python), `#!/bin/sh\necho "$0" >> '${asked}'\nexit 1\n`);
    chmodSync(join(path, python), 0o755);
  }
  return { path, asked };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ekm-engine-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a Docker engine is found where it listens', () => {
  it('Podman rootless under $XDG_RUNTIME_DIR answers; an absent and a dead socket do not', async () => {
    const xdg = join(dir, 'xdg');
    const engine = await fakeEngine(join(xdg, 'podman/podman.sock'));
    mkdirSync(join(dir, 'home'), { recursive: true });
    writeFileSync(join(xdg, 'docker.sock'), ''); // a leftover file where rootless Docker would listen
    try {
      const probes = await probeEngines({ env: { XDG_RUNTIME_DIR: xdg }, home: join(dir, 'home'), system: [] });
      const by = Object.fromEntries(probes.map((p) => [p.source, { exists: p.exists, answers: p.answers }]));
      expect(by['Podman (rootless, $XDG_RUNTIME_DIR)']).toEqual({ exists: true, answers: true });
      expect(by['rootless Docker ($XDG_RUNTIME_DIR)']).toEqual({ exists: true, answers: false });
      expect(by['Colima']).toEqual({ exists: false, answers: false });
      const decision = await detectMode({ env: { XDG_RUNTIME_DIR: xdg }, home: join(dir, 'home'), system: [] });
      expect(decision.mode).toBe('docker');
      expect(decision.engine).toEqual({ endpoint: engine.endpoint, source: 'Podman (rootless, $XDG_RUNTIME_DIR)' });
      expect(engine.pings()).toBe(2);
    } finally {
      await engine.close();
    }
  });

  it('the current Docker context (config.json and its meta.json) is followed', async () => {
    const home = join(dir, 'ctx-home');
    const engine = await fakeEngine(join(dir, 'lima.sock'));
    const meta = join(home, '.docker/contexts/meta', createHash('sha256').update('lima').digest('hex'));
    mkdirSync(meta, { recursive: true });
    writeFileSync(join(home, '.docker/config.json'), JSON.stringify({ currentContext: 'lima' }));
    writeFileSync(join(meta, 'meta.json'), JSON.stringify({ Name: 'lima', Endpoints: { docker: { Host: engine.endpoint } } }));
    try {
      const decision = await detectMode({ env: {}, home, system: [] });
      expect(decision).toMatchObject({ mode: 'docker', engine: { endpoint: engine.endpoint, source: 'docker context "lima"' } });
      // DOCKER_CONTEXT=default overrides config.json: back to the default socket, here none.
      expect((await detectMode({ env: { DOCKER_CONTEXT: 'default' }, home, system: [] })).mode).toBe('host');
    } finally {
      await engine.close();
    }
  });

  it('Python is asked only when no engine answers', async () => {
    const { path, asked } = restrictedPath();
    const decision = await detectMode({ env: { PATH: path }, home: join(dir, 'nohome'), system: [], checkPython: true });
    expect(decision.mode).toBe('host');
    expect(decision.problem).toMatch(/install Python/);
    expect(existsSync(asked)).toBe(true); // the stand-ins work: this is the contrast for the next test
    rmSync(join(dir, 'bin'), { recursive: true, force: true });
    rmSync(asked, { force: true });
  });
});

describe("the bootstrap's decision (ekm-localstack ensure) with PATH holding only Node, npm and a fake engine", () => {
  it('is docker, builds no venv and never runs Python', async () => {
    const { path, asked } = restrictedPath();
    const engine = await fakeEngine(join(dir, 'engine.sock'));
    const cache = join(dir, 'cache');
    try {
      const env = { PATH: path, HOME: join(dir, 'nohome'), DOCKER_HOST: engine.endpoint, EKM_CACHE_DIR: cache };
      const ensure = await runBin(['ensure'], env);
      expect(ensure.stderr).toBe('');
      expect(ensure.stdout).toContain(`LocalStack mode: docker, because a Docker engine answers /_ping at ${engine.endpoint} (DOCKER_HOST)`);
      expect(ensure.status).toBe(0);
      const mode = await runBin(['mode'], env);
      expect(JSON.parse(mode.stdout)).toMatchObject({ mode: 'docker', engine: { endpoint: engine.endpoint, source: 'DOCKER_HOST' } });
      expect(engine.pings()).toBe(2);
      expect(existsSync(asked)).toBe(false);
      expect(existsSync(cache)).toBe(false);
    } finally {
      await engine.close();
    }
  }, 90_000);
});
