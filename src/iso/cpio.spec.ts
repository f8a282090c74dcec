import { describe, it, expect } from '@jest/globals';
import { CpioError, buildNewcArchive, findNewcMember, parseNewcHeader, type ArchiveReader } from './cpio.js';

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
