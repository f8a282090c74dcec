/**
 * Extracts the nmstatectl binary from a live ISO's root filesystem, for nmstate.img (see docs/live-iso.md). The rootfs
 * (~1 GiB) is never loaded: rootfs.img is a newc cpio whose headers locate root.squashfs / root.erofs; squashfs is read
 * in place at an offset of the ISO, and only an EROFS image is copied out (erofs-utils before 1.8 take no offset).
 */
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { OperationAbortedError, runChild, throwIfAborted, type ChildTimeout, type RunChild } from './child-process.js';
import { findNewcMember } from './cpio.js';
import { IsoImageReader, fileRanges, regularFile, type IsoExtent } from './iso9660.js';
import { readIsoIndex } from './iso9660-tree.js';
import { BOOT_FILE_PATHS } from './live-iso.js';

const ROOT_IMAGE_KINDS = { 'root.squashfs': 'squashfs', 'root.erofs': 'erofs' } as const;
const ROOTFS = BOOT_FILE_PATHS.rootfs;
/** An absolute image path ending in bin/nmstatectl or sbin/nmstatectl. */
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

export interface NmstateExtractRequest {
  isoPath: string;
  /** Scratch space; a private subdirectory is made in it and removed afterwards. */
  workDir: string;
  signal?: AbortSignal;
  /** Longest each unsquashfs / erofs-utils run may take. */
  timeout?: ChildTimeout;
  run?: RunChild;
}

/** nmstatectl could not be extracted; `cause` holds the underlying failure. */
export class NmstateExtractError extends Error {
  override readonly name = 'NmstateExtractError';
}

type Tools = { run: RunChild; signal?: AbortSignal; timeout?: ChildTimeout };
/** `ranges`: the image's bytes as ranges of the ISO, in order; one when contiguous. */
type RootImage = { kind: 'squashfs' | 'erofs'; ranges: IsoExtent[] };

/** Resolves with the binary's bytes; aborts reject with OperationAbortedError. */
export async function extractNmstatectl(req: NmstateExtractRequest): Promise<Buffer> {
  throwIfAborted(req.signal, 'nmstatectl extraction');
  await mkdir(req.workDir, { recursive: true });
  const scratch = await mkdtemp(path.join(req.workDir, 'nmstate-'));
  const tools: Tools = { run: req.run ?? runChild, signal: req.signal, timeout: req.timeout };
  try {
    const { kind, ranges } = await locateRootImage(req.isoPath);
    const inPlace = kind === 'squashfs' && ranges.length === 1 ? ranges[0] : undefined;
    let binary: Buffer;
    if (inPlace !== undefined) binary = await extractFromSquashfs(req.isoPath, inPlace.offset, tools);
    else {
      const copy = path.join(scratch, `root.${kind}`);
      await copyRanges(req.isoPath, ranges, copy, req.signal);
      const extract =
        kind === 'squashfs' ? extractFromSquashfs(copy, 0, tools) : extractFromErofs(copy, scratch, tools);
      binary = await extract;
    }
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

/** Reads only the cpio headers of rootfs.img. */
async function locateRootImage(isoPath: string): Promise<RootImage> {
  const index = await readIsoIndex(isoPath);
  const rootfs = regularFile(index, ROOTFS);
  if (rootfs === undefined) throw new Error(`ISO image ${index.volumeId} has no ${ROOTFS}`);
  const member = await IsoImageReader.use(isoPath, (reader) => {
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const parts: Buffer[] = [];
      for (const range of fileRanges(rootfs, offset, length)) {
        parts.push(await reader.read(range.offset, range.size, `${ROOTFS} bytes ${offset}..${offset + length}`));
      }
      return Buffer.concat(parts);
    };
    return findNewcMember(read, rootfs.size, (name) => name in ROOT_IMAGE_KINDS);
  });
  if (member === undefined) throw new Error(`${ROOTFS} holds neither root.squashfs nor root.erofs`);
  const kind = ROOT_IMAGE_KINDS[member.name as keyof typeof ROOT_IMAGE_KINDS];
  return { kind, ranges: fileRanges(rootfs, member.dataOffset, member.size) };
}

async function copyRanges(isoPath: string, ranges: IsoExtent[], target: string, signal?: AbortSignal): Promise<void> {
  const source = await open(isoPath, 'r');
  const output = await open(target, 'wx').catch(async (error: unknown) => {
    await source.close();
    throw error;
  });
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    for (const range of ranges) {
      for (let done = 0; done < range.size;) {
        throwIfAborted(signal, `copying the root image to ${target}`);
        const want = Math.min(chunk.length, range.size - done);
        const { bytesRead } = await source.read(chunk, 0, want, range.offset + done);
        if (bytesRead === 0) throw new Error(`${isoPath} ended inside the root image`);
        await output.write(chunk, 0, bytesRead);
        done += bytesRead;
      }
    }
  } finally {
    await output.close();
    await source.close();
  }
}

/** unsquashfs (squashfs-tools ≥ 4.5 for -cat) reads the image at `offset` of `imagePath`. */
async function extractFromSquashfs(imagePath: string, offset: number, tools: Tools): Promise<Buffer> {
  const { run, ...limits } = tools;
  const common = ['-o', String(offset), '-da', QUEUE_MEGABYTES, '-fr', QUEUE_MEGABYTES];
  // -d '' makes the listing print image paths ('/usr/bin/…') rather than 'squashfs-root/…'.
  const listing = await run('unsquashfs', [...common, '-d', '', '-lc', imagePath], {
    ...limits,
    maxStdoutBytes: MAX_LISTING_BYTES,
  });
  const target = pickNmstatectlPath(listing.stdout.toString('utf8').split('\n'));
  if (target === undefined) throw new Error('the squashfs root image has no bin/nmstatectl');
  const args = [...common, '-no-wildcards', '-cat', imagePath, target];
  return (await run('unsquashfs', args, { ...limits, maxStdoutBytes: MAX_NMSTATECTL_BYTES })).stdout;
}

/**
 * Of the listed paths, the nmstatectl binary to take: the shallowest, then the first by name, so /usr/bin wins over
 * an ostree deployment (/ostree/deploy/<os>/deploy/<checksum>.<n>/usr/bin) and listing order does not matter.
 */
export function pickNmstatectlPath(paths: Iterable<string>): string | undefined {
  const candidates = [...paths]
    .map((entry) => `/${entry.trim().replace(/^\/+/, '')}`)
    .filter((entry) => NMSTATECTL_PATH.test(entry));
  const depth = (entry: string): number => entry.split('/').length;
  candidates.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  return candidates[0];
}

/** `dump.erofs --cat` (erofs-utils ≥ 1.8) prints one file; older versions can only extract the whole tree. */
async function extractFromErofs(imagePath: string, scratchDir: string, tools: Tools): Promise<Buffer> {
  const { run, ...limits } = tools;
  const target = await locateInErofs(imagePath, tools);
  const help = await run('dump.erofs', ['--help'], limits);
  if (/--cat\b/.test(`${help.stdout.toString('utf8')}\n${help.stderr}`)) {
    const args = ['--cat', `--path=${target}`, imagePath];
    return (await run('dump.erofs', args, { ...limits, maxStdoutBytes: MAX_NMSTATECTL_BYTES })).stdout;
  }
  const tree = path.join(scratchDir, 'erofs-root');
  await run('fsck.erofs', [`--extract=${tree}`, '--no-preserve', imagePath], limits);
  return readFile(path.join(tree, target));
}

/** /usr/bin/nmstatectl, else the first ostree deployment holding one. */
async function locateInErofs(imagePath: string, tools: Tools): Promise<string> {
  const { run, ...limits } = tools;
  // dump.erofs reports a missing path on stderr but still exits 0, so read what it printed.
  const isRegularFile = async (target: string): Promise<boolean> => {
    const { stdout } = await run('dump.erofs', [`--path=${target}`, imagePath], limits);
    return /^Size:.*\bregular file\b/m.test(stdout.toString('utf8'));
  };
  const directories = async (directory: string): Promise<string[]> => {
    const { stdout } = await run('dump.erofs', ['--ls', `--path=${directory}`, imagePath], limits);
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
