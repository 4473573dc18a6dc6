import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROTOCOL } from '@ekm/protocol';
import { chooseProvider } from './provider.ts';

const bin = fileURLToPath(new URL('../bin/ekm.mjs', import.meta.url));

describe('ekm provider serve', () => {
  it('prints the URL it listens on, serves ekm.provider/v1 there, and exits 0 on Ctrl-C', async () => {
    const child = spawn(process.execPath, [bin, 'provider', 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const info = (await (await fetch(`${url}/v1/provider`)).json()) as { protocol: string; name: string; capabilities: string[] };
    expect(info).toEqual({
      protocol: PROTOCOL,
      name: '@ekm/backup',
      version: expect.any(String),
      capabilities: ['store.tamper', 'update.inProgress', 'workflow.pause', 'provider.crash'],
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
    expect(err).toContain('ekm provider: stopped');
  }, 60_000);
});

describe('choosing the provider under test', () => {
  it('defaults to the reference provider in process, and refuses both options at once or a URL that does not answer', async () => {
    const chosen = await chooseProvider({}, process.cwd());
    expect(chosen.described).toEqual({
      name: '@ekm/backup',
      version: expect.any(String),
      protocol: PROTOCOL,
      binding: 'in-process',
      capabilities: ['store.tamper', 'update.inProgress', 'workflow.pause', 'provider.crash'],
    });
    await expect(chooseProvider({ provider: 'http://127.0.0.1:9', 'provider-module': './x.ts' }, process.cwd())).rejects.toThrow(
      /one of --provider <url> and --provider-module <path>, found both/,
    );
    await expect(chooseProvider({ provider: 'http://127.0.0.1:9' }, process.cwd())).rejects.toThrow(/does not answer/);
    await expect(chooseProvider({ 'provider-module': './no-such-module.ts' }, process.cwd())).rejects.toThrow(
      /no-such-module.ts: the provider module cannot be loaded/,
    );
  });
});
