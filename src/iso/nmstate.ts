/** nmstatectl from a live ISO's root filesystem, for nmstate.img, without loading the ~1 GiB rootfs.img. */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OperationAbortedError, runChild, throwIfAborted, type ToolOptions } from './child-process.js';
import { findNewcMember } from './initramfs.js';
import { IsoError, IsoImageReader, fileRanges, regularFile, type IsoExtent } from './iso9660.js';
import { readIsoIndex } from './iso9660-tree.js';
import { BOOT_FILE_PATHS } from './live-iso.js';
import { VirtualFile } from './virtual-file.js';

const ROOT_IMAGE_KINDS = { 'root.squashfs': 'squashfs', 'root.erofs': 'erofs' } as const;
const ROOTFS = BOOT_FILE_PATHS.rootfs;
const NMSTATECTL_PATH = /^\/(?:[^/\n]+\/)*s?bin\/nmstatectl$/;
const PLAIN_NMSTATECTL_PATH = '/usr/bin/nmstatectl';
const OSTREE_DEPLOY_ROOT = '/ostree/deploy';
/** A RHCOS listing is ~10 MiB; this only guards against a runaway tool. */
const MAX_LISTING_BYTES = 256 * 1024 * 1024;
const MAX_NMSTATECTL_BYTES = 512 * 1024 * 1024;
/** unsquashfs caches up to 256 MiB per queue by default; one file needs far less. */
const QUEUE_MEGABYTES = '32';
/** EROFS_FT_DIR in `dump.erofs --ls` output. */
const EROFS_DIRECTORY = 2;

/** `timeout` bounds each unsquashfs / erofs-utils run. */
export type NmstateExtractRequest = ToolOptions & { isoPath: string };

export class NmstateExtractError extends IsoError {}

type Tool = (program: string, args: string[], maxStdoutBytes?: number) => Promise<{ stdout: Buffer; stderr: string }>;

/** Squashfs is read in place, EROFS copied out (erofs-utils before 1.8 take no offset); aborts reject as such. */
export async function extractNmstatectl(req: NmstateExtractRequest): Promise<Buffer> {
  throwIfAborted(req.signal, 'nmstatectl extraction');
  await mkdir(req.workDir, { recursive: true });
  const scratch = await mkdtemp(path.join(req.workDir, 'nmstate-'));
  const { signal, timeout } = req;
  const run: Tool = (program, args, maxStdoutBytes) => runChild(program, args, { signal, timeout, maxStdoutBytes });
  try {
    const { kind, ranges } = await locateRootImage(req.isoPath);
    const inPlace = kind === 'squashfs' && ranges.length === 1 ? ranges[0] : undefined;
    const copy = path.join(scratch, `root.${kind}`);
    if (inPlace === undefined) await copyRanges(req.isoPath, ranges, copy, req.signal);
    let binary: Buffer;
    if (inPlace !== undefined) binary = await extractFromSquashfs(req.isoPath, inPlace.offset, run);
    else if (kind === 'squashfs') binary = await extractFromSquashfs(copy, 0, run);
    else binary = await extractFromErofs(copy, scratch, run);
    if (binary.length === 0) throw new NmstateExtractError('nmstatectl in the root image is empty');
    return binary;
  } catch (error) {
    if (error instanceof OperationAbortedError || error instanceof NmstateExtractError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new NmstateExtractError(`cannot extract nmstatectl from ${req.isoPath}: ${reason}`, { cause: error });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The root image's bytes as ranges of the ISO, in order (one when contiguous); reads only rootfs.img's cpio headers. */
async function locateRootImage(isoPath: string): Promise<{ kind: 'squashfs' | 'erofs'; ranges: IsoExtent[] }> {
  const index = await readIsoIndex(isoPath);
  const rootfs = regularFile(index, ROOTFS);
  if (rootfs === undefined) throw new Error(`ISO image ${index.volumeId} has no ${ROOTFS}`);
  const member = await IsoImageReader.use(isoPath, (reader) => {
    const read = (offset: number, length: number): Promise<Buffer> =>
      reader.readRanges(fileRanges(rootfs, offset, length), `${ROOTFS} bytes ${offset}..${offset + length}`);
    return findNewcMember(read, rootfs.size, (name) => name in ROOT_IMAGE_KINDS);
  });
  if (member === undefined) throw new Error(`${ROOTFS} holds neither root.squashfs nor root.erofs`);
  const kind = ROOT_IMAGE_KINDS[member.name as keyof typeof ROOT_IMAGE_KINDS];
  return { kind, ranges: fileRanges(rootfs, member.dataOffset, member.size) };
}

async function copyRanges(isoPath: string, ranges: IsoExtent[], target: string, signal?: AbortSignal): Promise<void> {
  const segments = ranges.map(({ offset, size }) => ({ kind: 'file' as const, path: isoPath, offset, length: size }));
  const image = VirtualFile.concat(segments);
  try {
    await pipeline(image.createReadStream(), createWriteStream(target, { flags: 'wx' }), { signal });
  } catch (error) {
    throwIfAborted(signal, `copying the root image to ${target}`);
    throw error;
  }
}

/** unsquashfs (squashfs-tools ≥ 4.5 for -cat) reads the image at `offset` of `imagePath`. */
async function extractFromSquashfs(imagePath: string, offset: number, run: Tool): Promise<Buffer> {
  const common = ['-o', String(offset), '-da', QUEUE_MEGABYTES, '-fr', QUEUE_MEGABYTES];
  // -d '' makes the listing print image paths ('/usr/bin/…') rather than 'squashfs-root/…'.
  const listing = await run('unsquashfs', [...common, '-d', '', '-lc', imagePath], MAX_LISTING_BYTES);
  const target = pickNmstatectlPath(listing.stdout.toString('utf8').split('\n'));
  if (target === undefined) throw new Error('the squashfs root image has no bin/nmstatectl');
  const args = [...common, '-no-wildcards', '-cat', imagePath, target];
  return (await run('unsquashfs', args, MAX_NMSTATECTL_BYTES)).stdout;
}

/** The shallowest nmstatectl, then the first by name: /usr/bin wins over an ostree deployment, whatever the order. */
export function pickNmstatectlPath(paths: Iterable<string>): string | undefined {
  const absolute = [...paths].map((entry) => `/${entry.trim().replace(/^\/+/, '')}`);
  const candidates = absolute.filter((entry) => NMSTATECTL_PATH.test(entry));
  const depth = (entry: string): number => entry.split('/').length;
  candidates.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  return candidates[0];
}

/** `dump.erofs --cat` (erofs-utils ≥ 1.8) prints one file; older versions can only extract the whole tree. */
async function extractFromErofs(imagePath: string, scratchDir: string, run: Tool): Promise<Buffer> {
  const target = await locateInErofs(imagePath, run);
  const help = await run('dump.erofs', ['--help']);
  if (/--cat\b/.test(`${help.stdout.toString('utf8')}\n${help.stderr}`))
    return (await run('dump.erofs', ['--cat', `--path=${target}`, imagePath], MAX_NMSTATECTL_BYTES)).stdout;
  const tree = path.join(scratchDir, 'erofs-root');
  await run('fsck.erofs', [`--extract=${tree}`, '--no-preserve', imagePath]);
  return readFile(path.join(tree, target));
}

async function locateInErofs(imagePath: string, run: Tool): Promise<string> {
  // dump.erofs reports a missing path on stderr but still exits 0, so read what it printed.
  const isRegularFile = async (target: string): Promise<boolean> => {
    const { stdout } = await run('dump.erofs', [`--path=${target}`, imagePath]);
    return /^Size:.*\bregular file\b/m.test(stdout.toString('utf8'));
  };
  const directories = async (directory: string): Promise<string[]> => {
    const { stdout } = await run('dump.erofs', ['--ls', `--path=${directory}`, imagePath]);
    return parseLsEntries(stdout.toString('utf8'))
      .filter((entry) => entry.type === EROFS_DIRECTORY && entry.name !== '.' && entry.name !== '..')
      .map((entry) => entry.name)
      .sort();
  };
  if (await isRegularFile(PLAIN_NMSTATECTL_PATH)) return PLAIN_NMSTATECTL_PATH;
  for (const os of await directories(OSTREE_DEPLOY_ROOT)) {
    for (const deployment of await directories(`${OSTREE_DEPLOY_ROOT}/${os}/deploy`)) {
      const candidate = deploymentNmstatectlPath(os, deployment);
      if (await isRegularFile(candidate)) return candidate;
    }
  }
  throw new Error(`the EROFS root image has no ${PLAIN_NMSTATECTL_PATH}, in / or in an ostree deployment`);
}

export function deploymentNmstatectlPath(os: string, deployment: string): string {
  return `${OSTREE_DEPLOY_ROOT}/${os}/deploy/${deployment}${PLAIN_NMSTATECTL_PATH}`;
}

/** The `NID TYPE FILENAME` table that `dump.erofs --ls` prints after the inode details. */
export function parseLsEntries(output: string): { type: number; name: string }[] {
  const lines = output.split('\n');
  const header = lines.findIndex((line) => /^\s*NID\s+TYPE\s+FILENAME\s*$/.test(line));
  if (header < 0) return [];
  return lines.slice(header + 1).flatMap((line) => {
    const match = /^\s*\d+\s+(\d+)\s+(.+)$/.exec(line);
    return match === null ? [] : [{ type: Number(match[1]), name: match[2] ?? '' }];
  });
}
