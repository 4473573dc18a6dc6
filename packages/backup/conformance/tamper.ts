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
    // The part's bytes within its object: all of it in format 1, its range in format 2.
    const start = part.offset ?? 0;
    const end = part.offset === undefined ? stored.body.length : start + part.bytes;
    const current = stored.body.subarray(start, end);
    let body: Uint8Array;
    if (mode === 'flipByte') {
      body = Uint8Array.from(current);
      const at = Math.floor(body.length / 2);
      body[at] = body[at]! ^ 0x01;
    } else if (mode === 'truncate') {
      body = current.slice(0, Math.max(1, current.length - 17));
    } else {
      const other = manifests.find((m) => m.id !== snapshot);
      const otherPart = other?.parts.find((x) => x.part === part.part);
      if (other === undefined || otherPart === undefined) throw new TamperError(`otherSnapshot needs a second snapshot with a ${part.part} part`);
      const otherObject = (await this.bucket.get(otherPart.object))!.body;
      const from = otherPart.offset ?? 0;
      body = otherObject.slice(from, otherPart.offset === undefined ? otherObject.length : from + otherPart.bytes);
    }
    const shift = body.length - current.length;
    const next = JSON.parse(new TextDecoder().decode(storedManifest.body)) as Manifest;
    const parts = next.parts.map((x) => {
      if (x.part === part.part) return { ...x, sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length };
      // Parts stored after it in the same object move with its new length.
      return x.object === part.object && x.offset !== undefined && x.offset > start ? { ...x, offset: x.offset + shift } : x;
    });
    await this.bucket.put(part.object, Buffer.concat([stored.body.subarray(0, start), body, stored.body.subarray(end)]));
    await this.bucket.put(manifestKey, JSON.stringify({ ...next, parts }));
  }
}
