import { describe, expect, it } from 'vitest';
import { decideMode, engineCandidates, LocalStackStartError, type EngineProbe } from '../src/index.ts';

const absent: EngineProbe = { endpoint: 'unix:///var/run/docker.sock', source: 'Docker default socket', exists: false, answers: false };
const silent: EngineProbe = { endpoint: 'unix:///run/podman/podman.sock', source: 'Podman (rootful)', exists: true, answers: false };
const colima: EngineProbe = { endpoint: 'unix:///h/.colima/default/docker.sock', source: 'Colima', exists: true, answers: true };
const podman: EngineProbe = { endpoint: 'unix:///run/user/0/podman/podman.sock', source: 'Podman (rootless)', exists: true, answers: true };

describe('decideMode: which LocalStack, and why', () => {
  it('an endpoint wins over an answering engine, and Python is not needed', () => {
    const d = decideMode({ env: { LOCALSTACK_ENDPOINT: 'http://127.0.0.1:4566' }, engines: [colima] });
    expect(d).toEqual({ mode: 'external', reason: 'LOCALSTACK_ENDPOINT is set (http://127.0.0.1:4566)', endpoint: 'http://127.0.0.1:4566' });
  });

  it('an --endpoint option wins over LOCALSTACK_ENDPOINT', () => {
    const d = decideMode({ env: { LOCALSTACK_ENDPOINT: 'http://a:1' }, endpoint: 'http://b:2', engines: [] });
    expect(d).toMatchObject({ mode: 'external', endpoint: 'http://b:2', reason: 'an endpoint was given (http://b:2)' });
  });

  it('the first engine that answers is used, whatever Python is', () => {
    for (const python of [true, false, undefined]) {
      const d = decideMode({ env: {}, engines: [absent, silent, podman, colima], python });
      expect(d).toEqual({
        mode: 'docker',
        reason: 'a Docker engine answers /_ping at unix:///run/user/0/podman/podman.sock (Podman (rootless))',
        engine: { endpoint: podman.endpoint, source: podman.source },
      });
    }
  });

  it('no engine answering means host mode, naming every place tried', () => {
    const d = decideMode({ env: {}, engines: [absent, silent], python: true });
    expect(d.mode).toBe('host');
    expect(d.reason).toBe(
      'no Docker engine answered (unix:///var/run/docker.sock (Docker default socket): absent; ' +
        'unix:///run/podman/podman.sock (Podman (rootful)): no answer to /_ping); Python >= 3.10 found',
    );
    expect(d.problem).toBeUndefined();
  });

  it('neither an engine nor Python is a problem that says every way out', () => {
    const d = decideMode({ env: {}, engines: [absent], python: false });
    expect(d).toMatchObject({ mode: 'host', reason: expect.stringMatching(/no Python >= 3\.10 found$/) });
    expect(d.problem).toMatch(/install Python.*Docker engine.*LOCALSTACK_ENDPOINT/);
  });

  it('Python not asked is said so', () => {
    expect(decideMode({ env: {}, engines: [] }).reason).toBe('no Docker engine answered (no candidates); Python not checked yet');
  });

  it('EKM_LOCALSTACK_MODE=host keeps host even with an engine; the option beats the variable', () => {
    expect(decideMode({ env: { EKM_LOCALSTACK_MODE: 'host' }, engines: [colima], python: true })).toMatchObject({
      mode: 'host',
      reason: 'EKM_LOCALSTACK_MODE: host; Python >= 3.10 found',
    });
    expect(decideMode({ env: { EKM_LOCALSTACK_MODE: 'host' }, mode: 'auto', engines: [colima] }).mode).toBe('docker');
    expect(decideMode({ env: { LOCALSTACK_ENDPOINT: 'http://x:1' }, mode: 'host', engines: [] }).mode).toBe('host');
  });

  it('docker asked for with no engine found still goes to docker (testcontainers looks itself)', () => {
    const d = decideMode({ env: {}, mode: 'docker', engines: [absent] });
    expect(d.mode).toBe('docker');
    expect(d.engine).toBeUndefined();
    expect(d.reason).toContain('no engine answered here');
  });

  it('external asked for without an endpoint is a problem naming the fix', () => {
    expect(decideMode({ env: { EKM_LOCALSTACK_MODE: 'external' }, engines: [] }).problem).toContain('set LOCALSTACK_ENDPOINT');
  });

  it('an unknown mode is refused, naming where it came from', () => {
    const error = (() => {
      try {
        decideMode({ env: { EKM_LOCALSTACK_MODE: 'dokcer' }, engines: [] });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(LocalStackStartError);
    expect((error as Error).message).toContain('unknown LocalStack mode "dokcer" (from EKM_LOCALSTACK_MODE)');
    expect((error as Error).message).toContain('auto, external, docker, host');
  });
});

describe('engineCandidates: where an engine is looked for', () => {
  it('DOCKER_HOST, then the context, then the fixed and per-user sockets, without duplicates', () => {
    const list = engineCandidates({
      env: { DOCKER_HOST: 'tcp://127.0.0.1:2375', XDG_RUNTIME_DIR: '/run/user/1000' },
      home: '/home/u',
      context: { name: 'colima', host: 'unix:///home/u/.colima/default/docker.sock' },
    });
    expect(list.map((c) => c.endpoint)).toEqual([
      'tcp://127.0.0.1:2375',
      'unix:///home/u/.colima/default/docker.sock',
      'unix:///var/run/docker.sock',
      'unix:///run/podman/podman.sock',
      'unix:///run/user/1000/docker.sock',
      'unix:///home/u/.docker/run/docker.sock',
      'unix:///run/user/1000/podman/podman.sock',
      'unix:///home/u/.colima/docker.sock',
    ]);
    expect(list[1]!.source).toBe('docker context "colima"');
  });

  it('without XDG_RUNTIME_DIR the per-session sockets are not guessed', () => {
    const list = engineCandidates({ env: {}, home: '/h' });
    expect(list.map((c) => c.source)).toEqual(['Docker default socket', 'Podman (rootful)', 'Docker Desktop', 'Colima', 'Colima (older layout)']);
  });
});
