import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CpioFormatError, findNewcMember, parseNewcHeader, type ArchiveReader } from './cpio-reader.js';

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cpio-reader-'));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function readerOf(archive: Buffer): ArchiveReader {
  return (offset, length) => Promise.resolve(archive.subarray(offset, offset + length));
}

/** GNU cpio -o -H newc over `names` (relative to `dir`), the file list written to its stdin. */
async function gnuCpio(dir: string, names: string[]): Promise<Buffer> {
  const out = path.join(workDir, 'archive.cpio');
  await new Promise<void>((resolve, reject) => {
    const child = execFile('cpio', ['-o', '-H', 'newc', '--quiet', '-O', out], { cwd: dir }, (error) =>
      error ? reject(error) : resolve(),
    );
    child.stdin?.end(`${names.join('\n')}\n`);
  });
  return readFile(out);
}

describe('findNewcMember on archives written by GNU cpio', () => {
  it('finds each member and its data at the reported offset', async () => {
    const tree = path.join(workDir, 'tree');
    await mkdir(path.join(tree, 'dir'), { recursive: true });
    const files: Record<string, Buffer> = {
      'a.txt': Buffer.from('x'),
      'dir/root.squashfs': randomBytes(5003),
      'odd-name-length.bin': randomBytes(17),
    };
    for (const [name, data] of Object.entries(files)) await writeFile(path.join(tree, name), data);
    const archive = await gnuCpio(tree, ['a.txt', 'dir', 'dir/root.squashfs', 'odd-name-length.bin']);
    for (const [name, data] of Object.entries(files)) {
      const member = await findNewcMember(readerOf(archive), archive.length, (found) => found === name);
      expect(member?.size).toBe(data.length);
      const start = member?.dataOffset ?? -1;
      expect(archive.subarray(start, start + data.length).equals(data)).toBe(true);
      expect((member?.mode ?? 0) & 0o170000).toBe(0o100000);
    }
    expect(await findNewcMember(readerOf(archive), archive.length, (found) => found === 'missing')).toBeUndefined();
  });
});

describe('findNewcMember on damaged archives', () => {
  const header = (fileSize: number, nameSize: number, magic = '070701'): Buffer => {
    const fields = [1, 0o100644, 0, 0, 1, 0, fileSize, 0, 0, 0, 0, nameSize, 0];
    return Buffer.from(magic + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'latin1');
  };

  it('refuses a non-newc archive', async () => {
    const archive = Buffer.concat([Buffer.from('070707'), Buffer.alloc(200)]);
    await expect(findNewcMember(readerOf(archive), archive.length, () => true)).rejects.toThrow(CpioFormatError);
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
