/**
 * The `store.tamper` capability: an attacker with write access to the store changes a
 * snapshot's data and makes the manifest's hashes match, so only the cryptography can notice
 * (EKM-20). `restore` puts the original bytes back.
 */
import { createHash } from 'node:crypto';
import type { TamperMode } from '@ekm/protocol';
import type { Bucket } from '../src/bucket.ts';
import type { Provider } from '../src/provider.ts';
import type { Manifest } from '../src/snapshots.ts';

/** A refusal of the request itself (no such snapshot, nothing to put back), reported as a protocol error. */
export class TamperError extends Error {
  override readonly name = 'TamperError';
  readonly $fault = 'client';
}

export class Tamperer {
  readonly #originals = new Map<string, { object: string; body: Uint8Array; manifestKey: string; manifest: Uint8Array }>();
  constructor(
    private readonly provider: Provider,
    private readonly bucket: Bucket,
  ) {}

  async tamper(account: string, snapshot: string, mode: TamperMode): Promise<void> {
    const manifests = await this.provider.snapshots(account);
    const manifest = manifests.find((m) => m.id === snapshot);
    if (manifest === undefined) throw new TamperError(`snapshot ${snapshot} is not in the store`);
    const part = manifest.parts.find((x) => x.items > 0) ?? manifest.parts[0];
    if (part === undefined) throw new TamperError(`snapshot ${snapshot} has no data part`);
    const manifestKey = part.object.replace(/[^/]+$/, 'manifest.json');
    const original = this.#originals.get(snapshot);
    if (mode === 'restore') {
      if (original === undefined) throw new TamperError(`snapshot ${snapshot} was not tampered with`);
      await this.bucket.put(original.object, original.body);
      await this.bucket.put(original.manifestKey, original.manifest);
      this.#originals.delete(snapshot);
      return;
    }
    const stored = await this.bucket.get(part.object);
    const storedManifest = await this.bucket.get(manifestKey);
    if (stored === undefined || storedManifest === undefined) throw new TamperError(`snapshot ${snapshot}'s objects are missing`);
    if (original === undefined) this.#originals.set(snapshot, { object: part.object, body: stored.body, manifestKey, manifest: storedManifest.body });
    let body: Uint8Array;
    if (mode === 'flipByte') {
      body = Uint8Array.from(stored.body);
      const at = Math.floor(body.length / 2);
      body[at] = body[at]! ^ 0x01;
    } else if (mode === 'truncate') {
      body = stored.body.slice(0, Math.max(1, stored.body.length - 17));
    } else {
      const other = manifests.find((m) => m.id !== snapshot);
      const otherPart = other?.parts.find((x) => x.part === part.part);
      if (other === undefined || otherPart === undefined) throw new TamperError(`otherSnapshot needs a second snapshot with a ${part.part} part`);
      body = (await this.bucket.get(otherPart.object))!.body;
    }
    const next = JSON.parse(new TextDecoder().decode(storedManifest.body)) as Manifest;
    const parts = next.parts.map((x) => (x.object === part.object ? { ...x, sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length } : x));
    await this.bucket.put(part.object, body);
    await this.bucket.put(manifestKey, JSON.stringify({ ...next, parts }));
  }
}
