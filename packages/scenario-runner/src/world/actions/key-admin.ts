/**
 * The customer's key administrator: KMS calls in the customer's account through the gateway.
 * Each move is mirrored on the domain's key lifecycle, run beside the real key, for
 * transition coverage.
 */
import { dirname, resolve } from 'node:path';
import type { ActionName } from '../../format.ts';
import type { KeyMirror } from '../keys.ts';
import type { Outcome } from '../expect.ts';
import { durationMs, type Scene } from '../scene.ts';
import type { Handlers } from './handler.ts';

type AdminAction = Extract<ActionName, `admin.${string}`>;

/** Runs the administrator's call, then the key lifecycle's move for the key it named, when the key exists. */
async function mirrored(s: Scene, key: string, work: () => Promise<void>, move: (keys: KeyMirror, arn: string) => void): Promise<Outcome> {
  const outcome = await s.administer(work);
  const arn = s.admin.keys.get(key)?.arn;
  if (arn !== undefined) s.mirror(() => move(s.keys, arn));
  return outcome;
}

/** A change of who may use the key: once it took effect, the lifecycle learns whether the provider may now use it. */
async function access(s: Scene, key: string, work: () => Promise<void>): Promise<Outcome> {
  const outcome = await s.administer(work);
  const arn = s.admin.keys.get(key)?.arn;
  const allowed = s.admin.providerAllowed(key);
  if (arn !== undefined && outcome.ok) s.mirror(() => s.keys.access(arn, allowed));
  return outcome;
}

export const KEY_ADMIN: Handlers<AdminAction> = {
  'admin.createKey': async (s, a) => {
    const outcome = await s.administer(
      async () =>
        void (await s.admin.createKey({
          key: a.key,
          spec: a.spec,
          usage: a.usage,
          origin: a.origin,
          multiRegion: a.multiRegion,
          region: a.region,
          allow: a.allow,
        })),
    );
    const k = s.admin.keys.get(a.key);
    if (outcome.ok && k !== undefined) {
      s.keys.created(
        k.arn,
        { spec: a.spec, usage: a.usage ?? 'ENCRYPT_DECRYPT', origin: a.origin, multiRegion: a.multiRegion },
        s.admin.providerAllowed(a.key),
      );
    }
    return outcome;
  },
  'admin.replicateKey': (s, a) => s.administer(() => s.admin.replicateKey(a)),
  'admin.importKeyMaterial': (s, a) => {
    const expiresAt = a.expiresIn === undefined ? undefined : new Date(s.now().getTime() + durationMs(a.expiresIn));
    return mirrored(
      s,
      a.key,
      () => s.admin.importKeyMaterial({ key: a.key, material: a.material, expiresAt }),
      (keys, arn) => keys.materialImported(arn, expiresAt?.getTime()),
    );
  },
  'admin.deleteImportedKeyMaterial': (s, a) =>
    mirrored(
      s,
      a.key,
      () => s.admin.deleteImportedKeyMaterial(a.key),
      (keys, arn) => keys.materialDeleted(arn),
    ),
  'admin.putKeyPolicy': (s, a) => {
    const fill = {
      tenant: s.tenant.tenantId,
      tenants: Object.fromEntries([...s.tenants].map(([n, t]) => [n, t.tenant.tenantId])),
      dir: dirname(resolve(s.loaded.file)),
    };
    return access(s, a.key, () => s.admin.putKeyPolicy({ ...a, fill }));
  },
  'admin.editKeyPolicy': (s, a) => access(s, a.key, () => s.admin.editKeyPolicy(a)),
  'admin.createGrant': (s, a) => access(s, a.key, () => s.admin.createGrant(a)),
  'admin.revokeGrant': (s, a) => access(s, a.key, () => s.admin.revokeGrant(a)),
  'admin.createAlias': (s, a) => s.administer(() => s.admin.createAlias(a)),
  'admin.updateAlias': (s, a) => s.administer(() => s.admin.updateAlias(a)),
  'admin.deleteAlias': (s, a) => s.administer(() => s.admin.deleteAlias(a.alias)),
  'admin.disableKey': (s, a) =>
    mirrored(
      s,
      a.key,
      () => s.admin.disableKey(a.key),
      (keys, arn) => keys.disabled(arn),
    ),
  'admin.enableKey': (s, a) =>
    mirrored(
      s,
      a.key,
      () => s.admin.enableKey(a.key),
      (keys, arn) => keys.enabled(arn),
    ),
  'admin.scheduleKeyDeletion': (s, a) => {
    const scheduledAt = s.now().getTime();
    return mirrored(
      s,
      a.key,
      () => s.admin.scheduleKeyDeletion(a),
      (keys, arn) => keys.deletionScheduled(arn, scheduledAt + a.days * 86_400_000),
    );
  },
  'admin.cancelKeyDeletion': (s, a) =>
    mirrored(
      s,
      a.key,
      () => s.admin.cancelKeyDeletion(a.key),
      (keys, arn) => keys.deletionCancelled(arn),
    ),
  'admin.rotateKey': (s, a) =>
    mirrored(
      s,
      a.key,
      () => s.admin.rotateKey(a.key),
      (keys, arn) => keys.rotated(arn),
    ),
  'admin.enableKeyRotation': (s, a) => s.administer(() => s.admin.enableKeyRotation(a)),
};
