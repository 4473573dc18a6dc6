/** Changes in the customer's tenants, made on Microsoft's side (the Graph mock), and connecting one. */
import type { ActionName } from '../../format.ts';
import { asOutcome, StepError } from '../scene.ts';
import { drift, KIND_OF, newEntity } from '../tenant.ts';
import type { Handlers } from './handler.ts';

export const TENANTS: Handlers<Extract<ActionName, `tenant.${string}`>> = {
  'tenant.add': async (s, a) => {
    const kind = KIND_OF[a.kind]!;
    const directory = s.tenantNamed(a.tenant).directory;
    const entity = newEntity(directory, kind, a.name, String(s.seed), a.properties);
    directory.add(kind, entity as never);
    s.entities.set(a.name, { kind, id: entity.id });
    s.entityTenant.set(a.name, a.tenant ?? s.defaultTenant());
    return { ok: true };
  },
  'tenant.update': async (s, a) => {
    const e = s.entity(a.name);
    s.tenantNamed(s.entityTenant.get(a.name)).directory.update(e.kind, e.id, a.properties);
    return { ok: true };
  },
  'tenant.remove': async (s, a) => {
    const e = s.entity(a.name);
    s.tenantNamed(s.entityTenant.get(a.name)).directory.remove(e.kind, e.id, s.now());
    return { ok: true };
  },
  'tenant.connect': async (s, a) => {
    const entry = s.tenants.get(a.tenant);
    if (entry === undefined) throw new StepError(`no tenant named ${a.tenant} in this scenario`);
    if (entry.connected) throw new StepError(`tenant ${a.tenant} is connected already (declare it with connected: false)`);
    return asOutcome(await s.connect(a.tenant));
  },
  'tenant.drift': async (s, a) => {
    drift(s.tenantNamed(a.tenant).directory, a.changes, a.seed ?? s.seed + s.transitions.length, s.now());
    return { ok: true };
  },
};
