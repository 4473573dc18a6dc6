/** Faults the harness injects: KMS toxics at the gateway, Graph faults at Microsoft's side, a frozen LocalStack. */
import type { ToxicType } from '@ekm/kms-gateway';
import type { ActionName } from '../../format.ts';
import { durationMs, NotApplicable, StepError } from '../scene.ts';
import type { Handlers } from './handler.ts';

const TOXIC: Record<string, ToxicType> = { latency: 'latency', timeout: 'timeout', throttle: 'throttle', unavailable: 'internal', reset: 'reset' };

export const FAULTS: Handlers<Extract<ActionName, `fault.${string}`>> = {
  'fault.kms': async (s, a) => {
    const name = `${s.accounts.provider}:${a.fault ?? `kms-${s.toxics.size + 1}`}`;
    const latency = a.latency === undefined ? undefined : durationMs(a.latency);
    s.parts.gateway.control.toxics.add({
      name,
      type: TOXIC[a.toxic]!,
      toxicity: a.probability,
      account: s.accounts[a.from ?? 'provider'],
      ...(a.operations === undefined ? {} : { operations: [...a.operations] }),
      ...(a.times === undefined ? {} : { times: a.times }),
      ...(a.toxic === 'latency' ? { latencyMs: latency ?? 200, jitterMs: 0 } : {}),
      // A hung call is dropped after a second, so the provider's retries, not the clock, decide.
      ...(a.toxic === 'timeout' ? { timeoutMs: latency ?? 1000 } : {}),
    });
    s.toxics.add(name);
    s.faults.set(name, `kms-${a.toxic}`);
    return { ok: true };
  },
  'fault.graph': async (s, a) => {
    const retryAfter = a.retryAfter === undefined ? 1 : Math.max(1, Math.round(durationMs(a.retryAfter) / 1000));
    const faulted = s.tenantNamed(a.tenant);
    faulted.faults.scope({ ...(a.after === undefined ? {} : { after: a.after }), ...(a.endpoint === undefined ? {} : { path: a.endpoint }) });
    if (a.status === 429) faulted.faults.throttleNext(a.times, retryAfter);
    else faulted.faults.unavailableNext(a.times, retryAfter);
    s.faults.set(`graph:${a.fault ?? 'graph'}`, `graph-${a.status}`);
    return { ok: true };
  },
  'fault.localstack': async (s, a) => {
    const pid = s.parts.localstackPid;
    if (pid === undefined) {
      throw new NotApplicable(
        `fault.localstack needs a LocalStack this run started (host mode, or under ekm-localstack run); this run uses one at ${s.parts.localstackEndpoint}`,
      );
    }
    const ms = durationMs(a.freeze);
    process.kill(-pid, 'SIGSTOP');
    s.frozenUntil = Date.now() + ms;
    setTimeout(() => s.thaw(), ms);
    return { ok: true };
  },
  'fault.provider': async (s, a) => {
    const crash = s.provider.crash;
    if (crash === undefined) throw new NotApplicable('the provider under test does not declare capability provider.crash');
    const armed = await crash.call(s.provider, s.account, a.crash);
    if (!armed.ok) throw new StepError(`the provider could not arm a crash at ${a.crash}: ${armed.failure.message}`);
    s.crashArmed = a.crash;
    return { ok: true };
  },
  'fault.clear': async (s, a) => {
    const names = a.fault === undefined ? [...s.toxics] : [`${s.accounts.provider}:${a.fault}`];
    for (const n of names) {
      s.parts.gateway.control.toxics.remove(n);
      s.toxics.delete(n);
      s.faults.delete(n);
    }
    if (a.fault === undefined || s.faults.has(`graph:${a.fault}`)) {
      for (const { tenant } of s.tenants.values()) tenant.faults.clear();
      for (const n of [...s.faults.keys()]) if (n.startsWith('graph:')) s.faults.delete(n);
    }
    return { ok: true };
  },
};
