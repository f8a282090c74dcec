// An assisted-style ramdisk (gzip'd newc cpio) made with the system find/cpio/gzip, independently of
// src/iso/cpio.ts, so a boot test does not check our archive writer against itself.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Relative paths only: each file lands at `/<path>` in the guest. */
export type RamdiskFiles = Readonly<Record<string, Buffer>>;

class SystemRamdiskError extends Error {
  override readonly name = 'SystemRamdiskError';
}

/** Builds the archive in a private directory under `dir` (removed afterwards) and returns its bytes. */
export async function systemCpioRamdisk(dir: string, files: RamdiskFiles): Promise<Buffer> {
  const work = await mkdtemp(path.join(dir, 'ramdisk-'));
  try {
    const root = path.join(work, 'root');
    await mkdir(root);
    for (const [guestPath, data] of Object.entries(files)) {
      const target = path.resolve(root, guestPath);
      if (!target.startsWith(`${root}${path.sep}`))
        throw new SystemRamdiskError(`ramdisk path escapes the tree: ${guestPath}`);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, data);
    }
    const archive = path.join(work, 'ramdisk.cpio.gz');
    // Directories are listed too (as assisted-service's archives hold them); paths go in as arguments, not code.
    const script =
      'set -o pipefail; cd "$1" && find . -mindepth 1 | sed "s|^\\./||" | sort | cpio -o -H newc --quiet | gzip -9 > "$2"';
    await run('bash', ['-c', script, 'bash', root, archive]);
    return await readFile(archive);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
