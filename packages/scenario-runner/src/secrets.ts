/**
 * The secret scan: every plaintext key the run handled (tenant keys, data keys, imported
 * key material) is held here, and everything the run wrote — snapshot objects, downloads,
 * the KMS audit trail, LocalStack's log, the reports — is searched for it, raw, in hex and
 * in base64. A finding names where and which encoding, never the key.
 */
import { readFileSync, statSync } from 'node:fs';

export interface SecretFinding {
  readonly where: string;
  readonly kind: string;
  readonly encoding: 'raw' | 'hex' | 'base64' | 'base64url';
}

export interface SecretScanSummary {
  readonly keys: number;
  readonly places: number;
  readonly bytes: number;
  readonly findings: readonly SecretFinding[];
}

/** The first four characters (latin1, one byte each) of `text` as an unsigned integer. */
function prefixOf(text: string): number {
  return ((text.charCodeAt(0) << 24) | (text.charCodeAt(1) << 16) | (text.charCodeAt(2) << 8) | text.charCodeAt(3)) >>> 0;
}

/** Long enough that a chance match is out of the question, short enough to catch a key cut in a line. */
const WINDOW = 16;

export class SecretScanner {
  readonly #needles = new Map<string, { secret: number; encoding: SecretFinding['encoding'] }[]>();
  /** The first four bytes of every needle as one integer: most positions are ruled out without making a string. */
  readonly #prefixes = new Set<number>();
  readonly #secrets: { forms: Map<SecretFinding['encoding'], string[]>; kind: string }[] = [];
  readonly #findings: SecretFinding[] = [];
  readonly #known = new Set<string>();
  #places = 0;
  #bytes = 0;

  get keys(): number {
    return this.#secrets.length;
  }

  add(secret: Uint8Array, kind: string): void {
    if (secret.length < 16) return;
    const buf = Buffer.from(secret);
    // A tenant key is unwrapped once per workflow: the same bytes again are the same secret.
    const raw = buf.toString('latin1');
    if (this.#known.has(raw)) {
      buf.fill(0);
      return;
    }
    this.#known.add(raw);
    const forms = new Map<SecretFinding['encoding'], string[]>([
      ['raw', [buf.toString('latin1')]],
      ['hex', [buf.toString('hex'), buf.toString('hex').toUpperCase()]],
      // Base64 of a key inside a longer blob depends on where it starts: all three alignments.
      ['base64', [0, 1, 2].map((shift) => trimmed(Buffer.concat([Buffer.alloc(shift), buf]).toString('base64'), shift))],
      ['base64url', [0, 1, 2].map((shift) => trimmed(Buffer.concat([Buffer.alloc(shift), buf]).toString('base64url'), shift))],
    ]);
    const index = this.#secrets.length;
    this.#secrets.push({ forms, kind });
    for (const [encoding, texts] of forms) {
      for (const t of texts) {
        const needle = t.slice(0, WINDOW);
        this.#prefixes.add(prefixOf(needle));
        const list = this.#needles.get(needle);
        if (list === undefined) this.#needles.set(needle, [{ secret: index, encoding }]);
        else if (!list.some((n) => n.secret === index && n.encoding === encoding)) list.push({ secret: index, encoding });
      }
    }
    buf.fill(0);
  }

  scan(where: string, data: Uint8Array | string): void {
    this.#places++;
    const text =
      typeof data === 'string' ? Buffer.from(data, 'utf8').toString('latin1') : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
    this.#bytes += text.length;
    if (this.#needles.size === 0) return;
    const seen = new Set<string>();
    const bytes = Buffer.from(text, 'latin1');
    let head = 0;
    for (let i = 0; i + WINDOW <= text.length; i++) {
      // The four bytes from i, rolled on by one byte each step.
      head = i === 0 ? prefixOf(text) : ((head << 8) | bytes[i + 3]!) >>> 0;
      if (!this.#prefixes.has(head)) continue;
      const hits = this.#needles.get(text.slice(i, i + WINDOW));
      if (hits === undefined) continue;
      for (const hit of hits) {
        const secret = this.#secrets[hit.secret]!;
        const full = secret.forms.get(hit.encoding)!.some((form) => text.startsWith(form, i));
        const key = String(hit.secret); // once per key and place, in the first encoding that matches
        if (full && !seen.has(key)) {
          seen.add(key);
          this.#findings.push({ where, kind: secret.kind, encoding: hit.encoding });
        }
      }
    }
  }

  scanFile(path: string, label = path): void {
    try {
      if (!statSync(path).isFile()) return;
    } catch {
      return;
    }
    this.scan(label, readFileSync(path));
  }

  summary(): SecretScanSummary {
    return { keys: this.#secrets.length, places: this.#places, bytes: this.#bytes, findings: [...this.#findings] };
  }
}

/** Drops the characters that depend on neighbouring bytes (the first after a shift, the padded end). */
function trimmed(b64: string, shift: number): string {
  const start = shift === 0 ? 0 : shift === 1 ? 2 : 3;
  return b64.slice(start, b64.length - 4);
}
