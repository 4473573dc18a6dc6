import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  httpProvider,
  OPERATIONS,
  PROTOCOL,
  serveProvider,
  type Environment,
  type ProviderBinding,
  type ProviderSession,
  type ServedProvider,
} from '../src/index.ts';
import { answerChecker, OPENAPI_FILE, openapiDocument } from '../testing.ts';

/** A tiny provider that records what reached it: the binding must carry every argument unchanged. */
function recorder(capabilities: ProviderBinding['info']['capabilities']): { binding: ProviderBinding; calls: unknown[][]; envs: Environment[] } {
  const calls: unknown[][] = [];
  const envs: Environment[] = [];
  const ok = async (...args: unknown[]) => (calls.push(args), { ok: true as const, message: 'done' });
  const binding: ProviderBinding = {
    info: { protocol: PROTOCOL, name: 'recorder', version: '1.2.3', capabilities },
    async open(env) {
      envs.push(env);
      const session: ProviderSession = {
        activate: ok,
        showTerms: ok,
        acceptTerms: ok,
        declineTerms: ok,
        abandon: ok,
        completeUpdate: ok,
        connectTenant: ok,
        updateKey: ok,
        returnToCloudKms: async (...a) => (calls.push(a), { ok: false, failure: { code: 'CannotReturnToCloudKms', message: 'never', field: 'keyManagement' } }),
        submitKey: async (...a) => (
          calls.push(a),
          {
            ok: false,
            failure: { code: 'InvalidKeyArn', message: 'bad', field: 'keyArn.region' },
            findings: [
              { code: 'InvalidKeyArn', message: 'bad' },
              { code: 'KeyRegionMismatch', message: 'elsewhere' },
            ],
          }
        ),
        view: async (a) => (
          calls.push([a, env.now().toISOString()]),
          { ekmSection: true, providerAccountId: env.accountId, externalKeyManagement: 'Disabled', cloudKeyManagement: 'Enabled', updateInProgress: false }
        ),
        runScheduled: async (...a) => (calls.push(a), [{ ok: true, snapshot: 's-1' }]),
        backup: async (...a) => (calls.push(a), { ok: true, snapshot: 's-2' }),
        restore: async (...a) => (calls.push(a), { ok: false, failure: { code: 'KeyDisabled', message: 'disabled' } }),
        download: async (...a) => (calls.push(a), { ok: true, snapshot: 's-2', zip: new Uint8Array([0, 1, 2, 250, 255]) }),
        snapshots: async (...a) => (calls.push(a), [{ id: 's-2', tenantId: 't', takenAt: '2026-01-01T00:00:00.000Z' }]),
        close: async () => void calls.push(['close']),
      };
      if (capabilities.includes('store.tamper')) session.tamper = ok;
      if (capabilities.includes('workflow.pause')) Object.assign(session, { pause: ok, paused: ok, resume: ok });
      if (capabilities.includes('provider.crash')) Object.assign(session, { crash: ok, restart: ok });
      return session;
    },
  };
  return { binding, calls, envs };
}

const credentials = { accessKeyId: '111122223333', secretAccessKey: 'test' };
let clock = new Date('2026-03-01T10:00:00.000Z');
const env: Environment = {
  accountId: '111122223333',
  region: 'us-east-1',
  kms: { endpoint: 'http://127.0.0.1:1', credentials },
  s3: { endpoint: 'http://127.0.0.1:2', bucket: 'b', credentials },
  graph: { endpoint: 'http://127.0.0.1:3' },
  now: () => clock,
};

describe('openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document and documents exactly the protocol operations', async () => {
    const validator = new Validator();
    const result = await validator.validate(parse(readFileSync(OPENAPI_FILE, 'utf8')) as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const ids = Object.values(openapiDocument().paths)
      .flatMap((item) => Object.values(item).map((op) => op?.operationId))
      .filter(Boolean);
    expect(ids.sort()).toEqual([...OPERATIONS, 'provider', 'openSession', 'closeSession'].sort());
  });
});

describe('the HTTP binding', () => {
  const rec = recorder(['store.tamper', 'workflow.pause', 'provider.crash']);
  const check = answerChecker();
  const problems: string[] = [];
  let served: ServedProvider;
  beforeAll(async () => {
    served = await serveProvider(rec.binding);
  });
  afterAll(async () => served.close());

  it('carries every operation, argument and result unchanged, and every answer is what openapi.yaml documents', async () => {
    const binding = await httpProvider(served.url, { observe: (id, status, body) => problems.push(...check(id, status, body)) });
    expect(binding.info).toEqual(rec.binding.info);
    const p = await binding.open(env);
    expect(rec.envs[0]).toMatchObject({ accountId: env.accountId, region: 'us-east-1', kms: env.kms, s3: env.s3, graph: env.graph });
    expect(await p.activate('acct')).toEqual({ ok: true, message: 'done' });
    const refused = await p.submitKey('acct', 'arn:aws:kms:x');
    expect(refused).toEqual({
      ok: false,
      failure: { code: 'InvalidKeyArn', message: 'bad', field: 'keyArn.region' },
      findings: [
        { code: 'InvalidKeyArn', message: 'bad' },
        { code: 'KeyRegionMismatch', message: 'elsewhere' },
      ],
    });
    clock = new Date('2026-03-02T11:00:00.000Z');
    expect((await p.view('acct')).providerAccountId).toBe('111122223333');
    expect(rec.calls.at(-1)).toEqual(['acct', '2026-03-02T11:00:00.000Z']); // the harness's time, not the server's
    await p.updateKey('acct', 'arn:b', { complete: false });
    expect(rec.calls.at(-1)).toEqual(['acct', 'arn:b', { complete: false }]);
    await p.connectTenant('acct', { tenantId: 't', clientId: 'c', clientSecret: 's' }, { scheduleEveryMs: 3600000 });
    expect(rec.calls.at(-1)).toEqual(['acct', { tenantId: 't', clientId: 'c', clientSecret: 's' }, { scheduleEveryMs: 3600000 }]);
    expect(await p.runScheduled('acct', new Date('2026-03-02T12:00:00.000Z'))).toEqual([{ ok: true, snapshot: 's-1' }]);
    expect(rec.calls.at(-1)).toEqual(['acct', new Date('2026-03-02T12:00:00.000Z')]);
    expect(await p.restore('acct', { snapshot: 's-2', entities: [{ kind: 'users', id: 'u1' }] })).toEqual({
      ok: false,
      failure: { code: 'KeyDisabled', message: 'disabled' },
    });
    const download = await p.download('acct', { snapshot: 's-2' });
    expect(download.ok && [...download.zip]).toEqual([0, 1, 2, 250, 255]);
    expect(await p.snapshots('acct')).toEqual([{ id: 's-2', tenantId: 't', takenAt: '2026-01-01T00:00:00.000Z' }]);
    expect(await p.tamper!('acct', 's-2', 'flipByte')).toEqual({ ok: true, message: 'done' });
    expect(await p.pause!('acct', 'backup.dataWritten')).toEqual({ ok: true, message: 'done' });
    expect(rec.calls.at(-1)).toEqual(['acct', 'backup.dataWritten']);
    expect(await p.paused!('acct', 'backup.dataWritten', 5000)).toEqual({ ok: true, message: 'done' });
    expect(rec.calls.at(-1)).toEqual(['acct', 'backup.dataWritten', 5000]);
    await p.resume!('acct', 'backup.dataWritten');
    await p.crash!('acct', 'update.rewrapped');
    expect(rec.calls.at(-1)).toEqual(['acct', 'update.rewrapped']);
    expect(await p.restart!()).toEqual({ ok: true, message: 'done' });
    expect(rec.calls.at(-1)).toEqual([]);
    expect(await p.returnToCloudKms('acct')).toMatchObject({ ok: false, failure: { code: 'CannotReturnToCloudKms' } });
    await p.close();
    expect(rec.calls.at(-1)).toEqual(['close']);
    expect(problems).toEqual([]);
  });

  it('refuses what is outside the protocol with its own documented errors', async () => {
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${served.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as { error: { code: string; message: string } } };
    };
    const open = await post('/v1/sessions', {
      now: '2026-01-01T00:00:00Z',
      environment: { accountId: '111122223333', region: 'r', kms: {}, s3: {}, graph: {} },
    });
    const id = (open.body as unknown as { session: string }).session;
    const cases: [string, unknown, number, string, RegExp][] = [
      ['/v1/sessions/nope/view', { now: '2026-01-01T00:00:00Z', account: 'a' }, 404, 'NoSuchSession', /no session nope/],
      [`/v1/sessions/${id}/submitKey`, { now: '2026-01-01T00:00:00Z', account: 'a' }, 400, 'BadRequest', /submitKey: field "arn" is required/],
      [`/v1/sessions/${id}/view`, { account: 'a' }, 400, 'BadRequest', /field "now" must be an ISO date-time/],
      [`/v1/sessions/${id}/view`, '{not json', 400, 'BadRequest', /not JSON/],
      [`/v1/sessions/${id}/fly`, { now: '2026-01-01T00:00:00Z' }, 404, 'UnknownOperation', /no operation POST fly/],
      ['/v1/sessions', { now: '2026-01-01T00:00:00Z', environment: { accountId: '1' } }, 400, 'BadRequest', /environment\.region/],
    ];
    for (const [path, body, status, code, message] of cases) {
      const r = await post(path, body);
      expect({ path, status: r.status, code: r.body.error.code }).toEqual({ path, status, code });
      expect(r.body.error.message).toMatch(message);
      expect(check(path.endsWith('/fly') ? 'view' : path === '/v1/sessions' ? 'openSession' : path.split('/').pop()!, r.status, r.body)).toEqual([]);
    }
  });

  it('an operation the provider does not declare is 501 NotDeclared, and the client does not offer it', async () => {
    const bare = recorder([]);
    const s = await serveProvider(bare.binding);
    try {
      const open = (await (
        await fetch(`${s.url}/v1/sessions`, {
          method: 'POST',
          body: JSON.stringify({ now: '2026-01-01T00:00:00Z', environment: { accountId: '111122223333', region: 'r', kms: {}, s3: {}, graph: {} } }),
        })
      ).json()) as { session: string };
      const r = await fetch(`${s.url}/v1/sessions/${open.session}/tamper`, {
        method: 'POST',
        body: JSON.stringify({ now: '2026-01-01T00:00:00Z', account: 'a', snapshot: 's', mode: 'flipByte' }),
      });
      expect(r.status).toBe(501);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('NotDeclared');
      const p = await (await httpProvider(s.url)).open(env);
      expect(p.tamper).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it('a URL that does not answer, or answers another protocol, is a clear error', async () => {
    await expect(httpProvider('http://127.0.0.1:9')).rejects.toThrow(/the provider at http:\/\/127\.0\.0\.1:9\/v1\/provider does not answer/);
    const other = await serveProvider({ ...rec.binding, info: { ...rec.binding.info, protocol: 'ekm.provider/v0' as never } });
    try {
      await expect(httpProvider(other.url)).rejects.toThrow(/speaks ekm\.provider\/v0, not ekm\.provider\/v1/);
    } finally {
      await other.close();
    }
  });
});
