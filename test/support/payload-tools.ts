import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface UnpackedFile {
  readonly data: Buffer;
  readonly mode: number;
}

/**
 * Unpacks a gzip'd newc cpio (followed by zero padding, as in the Ignition area) with the system `gzip` and
 * `cpio` — tools we did not write — and returns every regular file by its path in the archive.
 */
export async function unpackWithSystemTools(compressed: Buffer): Promise<Map<string, UnpackedFile>> {
  const work = await mkdtemp(join(tmpdir(), 'unpack-'));
  try {
    const gz = join(work, 'payload.gz');
    await writeFile(gz, compressed);
    const { stdout } = await run('gzip', ['-dc', gz], { encoding: 'buffer', maxBuffer: 1 << 30 });
    const archive = join(work, 'payload.cpio');
    await writeFile(archive, stdout);
    const out = join(work, 'out');
    await run('mkdir', ['-p', out]);
    await run('cpio', ['-idm', '--no-absolute-filenames', '-F', archive], { cwd: out });
    return await readTree(out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function readTree(
  root: string,
  dir = root,
  files = new Map<string, UnpackedFile>(),
): Promise<Map<string, UnpackedFile>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await readTree(root, path, files);
    else if (entry.isFile())
      files.set(relative(root, path), { data: await readFile(path), mode: (await stat(path)).mode });
  }
  return files;
}
