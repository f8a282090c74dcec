import { describe, it, expect } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { CpioError, buildNewcArchive, findNewcMember, parseNewcHeader, type ArchiveReader } from './initramfs.js';
import { IgnitionSizeMeter, IgnitionTooLargeError, buildIgnitionPayload } from './initramfs.js';

interface ParsedEntry {
  headerOffset: number;
  name: string;
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  size: number;
  dataOffset: number;
}

/** A reader written from the newc layout (110-byte ASCII header, name, data, 4-byte alignment) for checking the writer. */
function parseNewc(archive: Buffer): ParsedEntry[] {
  const entries: ParsedEntry[] = [];
  let offset = 0;
  for (;;) {
    expect(offset % 4).toBe(0);
    expect(archive.toString('ascii', offset, offset + 6)).toBe('070701');
    const field = (i: number): number =>
      parseInt(archive.toString('ascii', offset + 6 + i * 8, offset + 14 + i * 8), 16);
    const nameSize = field(11);
    const name = archive.toString('utf8', offset + 110, offset + 110 + nameSize - 1);
    expect(archive[offset + 110 + nameSize - 1]).toBe(0);
    const dataOffset = Math.ceil((offset + 110 + nameSize) / 4) * 4;
    const entry = {
      headerOffset: offset,
      name,
      ino: field(0),
      mode: field(1),
      nlink: field(4),
      mtime: field(5),
      size: field(6),
      dataOffset,
    };
    entries.push(entry);
    offset = Math.ceil((dataOffset + entry.size) / 4) * 4;
    if (name === 'TRAILER!!!') break;
  }
  expect(offset).toBe(archive.length);
  return entries;
}

describe('buildNewcArchive', () => {
  it('writes aligned newc headers, parent directories, distinct inodes and a trailer', () => {
    const archive = buildNewcArchive([
      { path: 'usr/bin/nmstatectl', data: Buffer.from('abcde'), mode: 0o100755, mtime: 1_700_000_000 },
      { path: 'usr/lib/x', data: Buffer.from('1234'), mode: 0o100644 },
    ]);
    const entries = parseNewc(archive);
    expect(entries.map((e) => e.name)).toEqual([
      'usr',
      'usr/bin',
      'usr/bin/nmstatectl',
      'usr/lib',
      'usr/lib/x',
      'TRAILER!!!',
    ]);
    const [usr, bin, tool, lib, x, trailer] = entries;
    expect(usr).toMatchObject({ mode: 0o040755, nlink: 2, size: 0, mtime: 1_700_000_000 });
    expect(bin).toMatchObject({ mode: 0o040755, nlink: 2 });
    expect(tool).toMatchObject({ mode: 0o100755, nlink: 1, size: 5, mtime: 1_700_000_000 });
    expect(lib).toMatchObject({ mode: 0o040755, nlink: 2, mtime: 0 });
    expect(x).toMatchObject({ mode: 0o100644, nlink: 1, size: 4, mtime: 0 });
    expect(trailer).toMatchObject({ size: 0 });
    const inodes = entries.slice(0, -1).map((e) => e.ino);
    expect(new Set(inodes).size).toBe(inodes.length);
    expect(archive.toString('ascii', tool!.dataOffset, tool!.dataOffset + 5)).toBe('abcde');
  });

  it('writes an archive with only the trailer for no entries', () => {
    expect(parseNewc(buildNewcArchive([])).map((e) => e.name)).toEqual(['TRAILER!!!']);
  });

  it.each([
    ['an empty path', ''],
    ['a bare slash', '/'],
    ['a dot-dot segment', 'usr/../etc/passwd'],
    ['an empty segment', 'usr//bin'],
    ['a NUL byte', 'a\0b'],
  ])('rejects %s', (_name, badPath) => {
    expect(() => buildNewcArchive([{ path: badPath, data: Buffer.alloc(0), mode: 0o100644 }])).toThrow(CpioError);
  });

  it('rejects duplicates and files used as directories', () => {
    const file = { data: Buffer.alloc(1), mode: 0o100644 };
    expect(() =>
      buildNewcArchive([
        { path: 'a', ...file },
        { path: '/a', ...file },
      ]),
    ).toThrow(/given twice/);
    expect(() =>
      buildNewcArchive([
        { path: 'a/b', ...file },
        { path: 'a', ...file },
      ]),
    ).toThrow(/given twice/);
    expect(() =>
      buildNewcArchive([
        { path: 'a', ...file },
        { path: 'a/b', ...file },
      ]),
    ).toThrow(/below the file/);
  });

  it('rejects values that do not fit an 8-hex-digit field', () => {
    expect(() => buildNewcArchive([{ path: 'a', data: Buffer.alloc(0), mode: 0o100644, mtime: 2 ** 32 }])).toThrow(
      CpioError,
    );
    expect(() => buildNewcArchive([{ path: 'a', data: Buffer.alloc(0), mode: -1 }])).toThrow(CpioError);
  });
});

function readerOf(archive: Buffer): ArchiveReader {
  return (offset, length) => Promise.resolve(archive.subarray(offset, offset + length));
}

describe('findNewcMember on damaged archives', () => {
  const header = (fileSize: number, nameSize: number, magic = '070701'): Buffer => {
    const fields = [1, 0o100644, 0, 0, 1, 0, fileSize, 0, 0, 0, 0, nameSize, 0];
    return Buffer.from(magic + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'latin1');
  };

  it('refuses a non-newc archive', async () => {
    const archive = Buffer.concat([Buffer.from('070707'), Buffer.alloc(200)]);
    await expect(findNewcMember(readerOf(archive), archive.length, () => true)).rejects.toThrow(CpioError);
  });

  it('refuses a member that runs past the end', async () => {
    const archive = Buffer.concat([header(1000, 5), Buffer.from('abcd\0'), Buffer.alloc(10)]);
    await expect(findNewcMember(readerOf(archive), archive.length, () => true)).rejects.toThrow(/runs past the end/);
  });

  it('refuses an archive cut before its trailer', async () => {
    const archive = Buffer.concat([header(0, 5), Buffer.from('abcd\0'), Buffer.alloc(1)]);
    await expect(findNewcMember(readerOf(archive), archive.length, () => false)).rejects.toThrow(/without a TRAILER/);
  });

  it('refuses non-hex header fields', () => {
    const bad = Buffer.from(
      header(0, 5)
        .toString('latin1')
        .replace(/^(070701.{48})0/, '$1g'),
      'latin1',
    );
    expect(() => parseNewcHeader(bad)).toThrow(/non-hex/);
  });
});

describe('buildIgnitionPayload', () => {
  it('pads with zero bytes only after the gzip stream', async () => {
    for (let extra = 0; extra < 8; extra++) {
      const payload = await buildIgnitionPayload(Buffer.from('x'.repeat(extra)));
      expect(payload.length % 4).toBe(0);
      expect(payload.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
  });

  it('is reproducible for the same input', async () => {
    const config = Buffer.from('{"ignition":{}}');
    expect((await buildIgnitionPayload(config)).equals(await buildIgnitionPayload(config))).toBe(true);
  });

  it('builds a payload that fits within maxBytes exactly as without the bound', async () => {
    const config = Buffer.from(`{"ignition":{"version":"3.2.0"},"data":"${'a'.repeat(4 * 1024 * 1024)}"}`);
    const unbounded = await buildIgnitionPayload(config);
    expect(unbounded.length).toBeLessThan(256 * 1024);
    expect((await buildIgnitionPayload(config, 256 * 1024)).equals(unbounded)).toBe(true);
    expect((await buildIgnitionPayload(config, unbounded.length)).equals(unbounded)).toBe(true);
  });

  it('stops compressing once the output passes maxBytes, and says "more than"', async () => {
    const config = Buffer.from(randomBytes(400 * 1024).toString('base64'));
    const error = await buildIgnitionPayload(config, 256 * 1024).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(IgnitionTooLargeError);
    expect((error as IgnitionTooLargeError).payloadSize).toBeUndefined();
    expect((error as Error).message).toBe(
      "Ignition payload is more than 262144 bytes, larger than the ISO's 262144-byte Ignition area",
    );
  });
});

describe('IgnitionSizeMeter', () => {
  async function meter(
    config: Buffer,
    maxBytes: number,
    chunk = 64 * 1024,
  ): Promise<{ cannotFit: boolean; writtenWhenItGaveUp: number }> {
    const sizeMeter = new IgnitionSizeMeter(maxBytes);
    try {
      for (let at = 0; at < config.length; at += chunk) {
        await sizeMeter.write(config.subarray(at, at + chunk));
        if (sizeMeter.cannotFit) return { cannotFit: true, writtenWhenItGaveUp: Math.min(config.length, at + chunk) };
      }
      await sizeMeter.end();
      return { cannotFit: sizeMeter.cannotFit, writtenWhenItGaveUp: config.length };
    } finally {
      sizeMeter.close();
    }
  }

  it('gives up on an incompressible Ignition long before its end', async () => {
    const config = Buffer.from(randomBytes(6 * 1024 * 1024).toString('base64'));
    const result = await meter(config, 256 * 1024);
    expect(result.cannotFit).toBe(true);
    // About 256 KiB of output come from ~350 KiB of base64; deflate's buffering adds at most a block or two.
    expect(result.writtenWhenItGaveUp).toBeLessThan(1024 * 1024);
  });

  it('lets a large, compressible Ignition through, and its payload then fits', async () => {
    const config = Buffer.from(`{"ignition":{"version":"3.2.0"},"data":"${'ab'.repeat(3 * 1024 * 1024)}"}`);
    expect((await meter(config, 256 * 1024)).cannotFit).toBe(false);
    expect((await buildIgnitionPayload(config, 256 * 1024)).length).toBeLessThan(256 * 1024);
  });

  it('agrees with the payload around the bound: what it lets through either fits or is refused by the payload build', async () => {
    const config = Buffer.from(randomBytes(150 * 1024).toString('base64'));
    const payload = await buildIgnitionPayload(config);
    for (const maxBytes of [payload.length - 4096, payload.length - 8, payload.length, payload.length + 2048]) {
      const { cannotFit } = await meter(config, maxBytes);
      const built = await buildIgnitionPayload(config, maxBytes).then(
        () => 'fits',
        () => 'too large',
      );
      if (cannotFit) expect(built).toBe('too large');
      if (maxBytes >= payload.length) expect(cannotFit).toBe(false);
    }
  });
});
