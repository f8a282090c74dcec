/**
 * nmstatectl out of an EROFS root image with erofs-utils. The image must be a file of its own
 * (dump.erofs/fsck.erofs before 1.8 take no offset). `dump.erofs --cat` (erofs-utils ≥ 1.8)
 * prints one file; older versions can only extract the whole tree with `fsck.erofs --extract`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runChild, type ToolLimits } from './child-process.js';
import { MAX_NMSTATECTL_BYTES } from './nmstate-extract-squashfs.js';
import { OSTREE_DEPLOY_ROOT, PLAIN_NMSTATECTL_PATH, deploymentNmstatectlPath } from './nmstate-extract-paths.js';

/** EROFS_FT_DIR in `dump.erofs --ls` output. */
const TYPE_DIRECTORY = 2;
const LS_ENTRY = /^\s*\d+\s+(\d+)\s+(.+)$/;

export class ErofsExtractError extends Error {
  override readonly name = 'ErofsExtractError';
}

export async function extractFromErofs(
  imagePath: string,
  scratchDir: string,
  limits: ToolLimits = {},
): Promise<Buffer> {
  const target = await locateNmstatectl(imagePath, limits);
  if (await dumpCanCat(limits)) {
    const { stdout } = await runChild('dump.erofs', ['--cat', `--path=${target}`, imagePath], {
      ...limits,
      maxStdoutBytes: MAX_NMSTATECTL_BYTES,
    });
    return stdout;
  }
  const tree = path.join(scratchDir, 'erofs-root');
  await runChild('fsck.erofs', [`--extract=${tree}`, '--no-preserve', imagePath], limits);
  return readFile(path.join(tree, target));
}

/** /usr/bin/nmstatectl, else the first ostree deployment holding one. */
async function locateNmstatectl(imagePath: string, limits: ToolLimits): Promise<string> {
  if (await isRegularFile(imagePath, PLAIN_NMSTATECTL_PATH, limits)) return PLAIN_NMSTATECTL_PATH;
  for (const os of await listDirectories(imagePath, OSTREE_DEPLOY_ROOT, limits)) {
    for (const deployment of await listDirectories(imagePath, `${OSTREE_DEPLOY_ROOT}/${os}/deploy`, limits)) {
      const candidate = deploymentNmstatectlPath(os, deployment);
      if (await isRegularFile(imagePath, candidate, limits)) return candidate;
    }
  }
  throw new ErofsExtractError(`the EROFS root image has no ${PLAIN_NMSTATECTL_PATH}, in / or in an ostree deployment`);
}

/** dump.erofs reports a missing path on stderr but still exits 0, so read what it printed. */
async function isRegularFile(imagePath: string, target: string, limits: ToolLimits): Promise<boolean> {
  const { stdout } = await runChild('dump.erofs', [`--path=${target}`, imagePath], limits);
  return /^Size:.*\bregular file\b/m.test(stdout.toString('utf8'));
}

/** Names of the subdirectories of `directory`, sorted; none when it does not exist. */
async function listDirectories(imagePath: string, directory: string, limits: ToolLimits): Promise<string[]> {
  const { stdout } = await runChild('dump.erofs', ['--ls', `--path=${directory}`, imagePath], limits);
  return parseLsEntries(stdout.toString('utf8'))
    .filter((entry) => entry.type === TYPE_DIRECTORY && entry.name !== '.' && entry.name !== '..')
    .map((entry) => entry.name)
    .sort();
}

/** The `NID TYPE FILENAME` table that `dump.erofs --ls` prints after the inode details. */
export function parseLsEntries(output: string): { type: number; name: string }[] {
  const lines = output.split('\n');
  const header = lines.findIndex((line) => /^\s*NID\s+TYPE\s+FILENAME\s*$/.test(line));
  if (header < 0) return [];
  return lines.slice(header + 1).flatMap((line) => {
    const match = LS_ENTRY.exec(line);
    return match === null ? [] : [{ type: Number(match[1]), name: match[2] ?? '' }];
  });
}

async function dumpCanCat(limits: ToolLimits): Promise<boolean> {
  const { stdout, stderr } = await runChild('dump.erofs', ['--help'], limits);
  return /--cat\b/.test(`${stdout.toString('utf8')}\n${stderr}`);
}
