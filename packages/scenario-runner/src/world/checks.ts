/** Expectations that read the provider's console or the downloaded file, in the scene's names. */
import type { ProviderSession } from '@ekm/protocol';
import { unzipSync } from 'fflate';
import type { Step } from '../format.ts';
import type { Scene } from './scene.ts';

type StatusExpectation = NonNullable<NonNullable<Step['expect']>['status']>;

export function checkStatus(s: Scene, want: StatusExpectation, view: Awaited<ReturnType<ProviderSession['view']>>): string | undefined {
  const got: Record<string, unknown> = {
    ekmSection: view.ekmSection,
    providerAccountShown: view.providerAccountId === s.accounts.provider,
    key: view.keyArn,
    externalKeyManagement: view.externalKeyManagement,
    cloudKeyManagement: view.cloudKeyManagement,
    updateInProgress: view.updateInProgress,
  };
  if (want.unrecoverableSnapshots !== undefined) {
    const expected = want.unrecoverableSnapshots.map((name) => s.snapshot(name).id).sort();
    const listed = [...(view.unrecoverableSnapshots ?? [])].sort();
    if (JSON.stringify(expected) !== JSON.stringify(listed)) {
      const names = new Map([...s.snapshots].map(([name, r]) => [r.id, name]));
      return `expected the console to list the unrecoverable snapshots ${want.unrecoverableSnapshots.join(', ') || 'none'}, it lists ${listed.map((id) => names.get(id) ?? id).join(', ') || 'none'}`;
    }
  }
  for (const [field, value] of Object.entries(want)) {
    if (value === undefined || field === 'unrecoverableSnapshots') continue;
    const expected = field === 'key' ? s.admin.key(value as string).arn : value;
    if (got[field] !== expected) {
      const shown = field === 'key' ? `${String(got[field] ?? 'no key')}` : String(got[field]);
      return `expected status ${field} ${field === 'key' ? `${String(value)} (${String(expected)})` : String(value)}, the console shows ${shown}`;
    }
  }
  return undefined;
}

export function checkDownload(s: Scene, contains: string | undefined, entities: readonly string[] | undefined): string | undefined {
  if (s.lastDownload === undefined) return 'expected a downloaded file, but this step downloaded nothing';
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(s.lastDownload);
  } catch (error) {
    return `the download is not a readable zip file (${error instanceof Error ? error.message : String(error)})`;
  }
  const ids = new Set<string>();
  for (const [name, data] of Object.entries(entries)) {
    if (!name.endsWith('.json')) continue;
    let objects: unknown;
    try {
      objects = JSON.parse(new TextDecoder().decode(data));
    } catch {
      return `the download's ${name} is not JSON`;
    }
    // Entity files are JSON arrays of directory objects; anything else (a manifest, links) is not an entity list.
    if (!Array.isArray(objects)) continue;
    for (const o of objects) if (typeof (o as { id?: unknown })?.id === 'string') ids.add((o as { id: string }).id);
  }
  const wanted: { what: string; id: string }[] = [];
  if (contains !== undefined) {
    const state = s.snapshot(contains).state;
    for (const objects of Object.values(state.objects)) for (const o of objects) wanted.push({ what: `${o.id}`, id: o.id });
  }
  for (const name of entities ?? []) wanted.push({ what: name, id: s.entity(name).id });
  const missing = wanted.filter((w) => !ids.has(w.id));
  return missing.length === 0
    ? undefined
    : `the download lacks ${missing.length} of ${wanted.length} expected entities (${missing
        .slice(0, 5)
        .map((m) => m.what)
        .join(', ')})`;
}
