import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A static-network ramdisk as assisted-service sends it: a gzip'd newc cpio, made with the system cpio and gzip. */
export async function buildRamdisk(files: Record<string, string | Buffer>): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), 'ramdisk-'));
  try {
    const tree = join(work, 'tree');
    for (const [path, contents] of Object.entries(files)) {
      await mkdir(dirname(join(tree, path)), { recursive: true });
      await writeFile(join(tree, path), contents);
    }
    const list = Object.keys(files).join('\n');
    await writeFile(join(work, 'list'), `${list}\n`);
    await run('sh', ['-c', `cd "${tree}" && cpio -o -H newc --quiet < ../list | gzip -9 > ../ramdisk.gz`]);
    return await readFile(join(work, 'ramdisk.gz'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
