import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildNewcArchive } from '../../src/iso/index.js';
import { findNewcMember, type ArchiveReader } from '../../src/iso/initramfs.js';
import { run } from './xorriso-iso.js';

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
  await run('cpio', ['-o', '-H', 'newc', '--quiet', '-O', out], { cwd: dir, input: `${names.join('\n')}\n` });
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

describe('buildNewcArchive', () => {
  it('is listed by GNU cpio and busybox cpio', async () => {
    const archivePath = path.join(workDir, 'a.cpio');
    await writeFile(archivePath, buildNewcArchive([{ path: 'a/b.txt', data: Buffer.from('hello'), mode: 0o100640 }]));
    const gnu = (await run('cpio', ['-tv', '-F', archivePath])).stdout.toString();
    expect(gnu).toMatch(/^drwxr-xr-x .* a$/m);
    expect(gnu).toMatch(/^-rw-r----- .* 5 .* a\/b\.txt$/m);
    const busybox = (await run('sh', ['-c', `busybox cpio -t < '${archivePath}'`])).stdout.toString();
    expect(busybox.split('\n').filter(Boolean)).toEqual(['a', 'a/b.txt']);
  });
});
