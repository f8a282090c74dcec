import { describe, it, expect, afterEach, beforeEach } from '@jest/globals';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildNewcArchive, CpioEntryError } from './cpio.js';
import { makeTempDir, run } from './ignition-area.test-helpers.js';

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
  let workDir: string;
  beforeEach(async () => {
    workDir = await makeTempDir('cpio-');
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

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

  it('is listed by GNU cpio and busybox cpio', async () => {
    const archivePath = path.join(workDir, 'a.cpio');
    await writeFile(archivePath, buildNewcArchive([{ path: 'a/b.txt', data: Buffer.from('hello'), mode: 0o100640 }]));
    const gnu = (await run('cpio', ['-tv', '-F', archivePath])).stdout.toString();
    expect(gnu).toMatch(/^drwxr-xr-x .* a$/m);
    expect(gnu).toMatch(/^-rw-r----- .* 5 .* a\/b\.txt$/m);
    const busybox = (await run('sh', ['-c', `busybox cpio -t < '${archivePath}'`])).stdout.toString();
    expect(busybox.split('\n').filter(Boolean)).toEqual(['a', 'a/b.txt']);
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
    expect(() => buildNewcArchive([{ path: badPath, data: Buffer.alloc(0), mode: 0o100644 }])).toThrow(CpioEntryError);
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
      CpioEntryError,
    );
    expect(() => buildNewcArchive([{ path: 'a', data: Buffer.alloc(0), mode: -1 }])).toThrow(CpioEntryError);
  });
});
