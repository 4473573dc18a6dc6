import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { freePort } from '@ekm/localstack';
import type {} from '@ekm/localstack/vitest-setup';
import { ENDPOINT_LINE } from './gateway.ts';

const BIN = fileURLToPath(new URL('../bin/ekm.mjs', import.meta.url));
const REGION = 'us-east-1';
let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ekm-cli-gateway-'));
});
afterEach(() => {
  // A failed assertion must not leave a gateway behind.
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * LocalStack processes under `pid` (host mode runs `localstack.runtime.main` as a child).
 * Other LocalStacks on the machine (other test runs) come and go, so only descendants count.
 */
function localstackUnder(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) {
      if (tree.has(r.ppid) && !tree.has(r.pid)) {
        tree.add(r.pid);
        grew = true;
      }
    }
  }
  return rows.filter((r) => r.pid !== pid && tree.has(r.pid) && r.args.includes('localstack')).map((r) => r.pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Served {
  child: ChildProcess;
  endpoint: string;
  out: () => string;
  err: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function serve(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'gateway', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith(ENDPOINT_LINE));
      if (line !== undefined && out.includes('Ctrl-C')) resolve(line.slice(ENDPOINT_LINE.length).trim());
    });
    void exit.then(({ code }) => reject(new Error(`ekm gateway exited with ${code} before printing its endpoint: ${err}`)));
  });
  return { child, endpoint, out: () => out, err: () => err, exit };
}

function client(endpoint: string, account: string): KMSClient {
  return new KMSClient({ endpoint, region: REGION, credentials: { accessKeyId: account, secretAccessKey: 'test' }, maxAttempts: 1 });
}

let nextAccount = 100_000_000_000 + Math.floor(Math.random() * 800_000_000_000);

describe('ekm gateway', () => {
  it('[EKM-02][EKM-12] serves a KMS with key policies enforced across accounts, prints how to use it, and stops cleanly on SIGINT', async () => {
    const localstack = inject('localstackEndpoint');
    const auditFile = join(dir, 'audit.jsonl');
    const gw = await serve(['--localstack', 'external', '--endpoint', localstack, '--audit-file', auditFile]);

    expect(gw.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const started = localstackUnder(gw.child.pid!);
    expect(started).toEqual([]); // external mode: it found LocalStack, it did not start one
    expect(gw.out()).toContain(`LocalStack:  ${localstack} (external)`);
    expect(gw.out()).toContain(`control API: ${gw.endpoint}/_ekm/`);
    expect(gw.out()).toContain(`aws kms create-key --endpoint-url ${gw.endpoint}`);
    expect(gw.out()).toMatch(/export AWS_ACCESS_KEY_ID=\d{12} /);

    const owner = String(nextAccount++);
    const user = String(nextAccount++);
    const stranger = String(nextAccount++);
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${user}:root` }, Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: '*' },
      ],
    };
    const { KeyMetadata } = await client(gw.endpoint, owner).send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }));
    const arn = KeyMetadata!.Arn!;
    expect(arn).toContain(`:${owner}:key/`);

    const context = { tenant: 'contoso', purpose: 'tenant-key' };
    const generated = await client(gw.endpoint, user).send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }));
    const back = await client(gw.endpoint, user).send(new DecryptCommand({ KeyId: arn, CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(back.Plaintext!).equals(Buffer.from(generated.Plaintext!))).toBe(true);

    const denied = await client(gw.endpoint, stranger)
      .send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }))
      .then(
        () => undefined,
        (e: { name: string; message: string }) => e,
      );
    expect(denied?.name).toBe('AccessDeniedException');
    expect(denied?.message).toContain(`kms:GenerateDataKey on resource: ${arn}`);

    // The control API answers on the same port.
    const stats = (await (await fetch(`${gw.endpoint}/_ekm/stats`)).json()) as { accessDenied: number; byOperation: Record<string, number> };
    expect(stats.accessDenied).toBe(1);
    expect(stats.byOperation).toMatchObject({ CreateKey: 1, GenerateDataKey: 2, Decrypt: 1 });

    gw.child.kill('SIGINT');
    expect(await gw.exit).toEqual({ code: 0, signal: null });
    expect(gw.err()).toContain('ekm gateway: stopped');
    expect(gw.err()).not.toMatch(/\n\s+at /);
    // It started no LocalStack of its own and left none; the shared one still answers.
    expect(started.filter(alive)).toEqual([]);
    expect((await fetch(`${localstack}/_localstack/health`)).ok).toBe(true);
    await expect(fetch(`${gw.endpoint}/_ekm/stats`)).rejects.toThrow();
    const audit = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { eventName: string; errorCode?: string });
    expect(audit.map((e) => `${e.eventName}${e.errorCode === undefined ? '' : `:${e.errorCode}`}`)).toEqual([
      'CreateKey',
      'GenerateDataKey',
      'Decrypt',
      'GenerateDataKey:AccessDeniedException',
    ]);
  });

  it('finds LocalStack through LOCALSTACK_ENDPOINT in auto mode; SIGTERM stops it with exit code 0; --port is honoured', async () => {
    const port = await freePort();
    const gw = await serve(['--port', String(port)], { ...process.env, LOCALSTACK_ENDPOINT: inject('localstackEndpoint') });
    expect(gw.endpoint).toBe(`http://127.0.0.1:${port}`);
    expect(gw.out()).toContain(`LocalStack:  ${inject('localstackEndpoint')} (external)`);
    gw.child.kill('SIGTERM');
    expect(await gw.exit).toEqual({ code: 0, signal: null });
  });
});
