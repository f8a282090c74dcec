/**
 * Extracts the nmstatectl binary from a live ISO's root filesystem, for nmstate.img (§6). The
 * rootfs (~1 GiB) is never loaded: its cpio headers locate root.squashfs / root.erofs, squashfs
 * is read in place at an offset, and only an EROFS image is copied out (its tools take no offset).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { OperationAbortedError, throwIfAborted, type ChildTimeout, type ToolLimits } from './child-process.js';
import { extractFromErofs } from './nmstate-extract-erofs.js';
import { copyRanges, locateRootImage, type RootImageLocation } from './nmstate-extract-rootfs.js';
import { extractFromSquashfs } from './nmstate-extract-squashfs.js';

export interface NmstateExtractRequest {
  isoPath: string;
  /** Scratch space; a private subdirectory is made in it and removed afterwards. */
  workDir: string;
  signal?: AbortSignal;
  /** Longest each unsquashfs / erofs-utils run may take before it is killed and the extraction fails. */
  timeout?: ChildTimeout;
}

/** nmstatectl could not be extracted; `cause` holds the underlying failure. */
export class NmstateExtractError extends Error {
  override readonly name = 'NmstateExtractError';
}

/** Resolves with the binary's bytes; aborts reject with OperationAbortedError. */
export async function extractNmstatectl(req: NmstateExtractRequest): Promise<Buffer> {
  throwIfAborted(req.signal, 'nmstatectl extraction');
  await mkdir(req.workDir, { recursive: true });
  const scratch = await mkdtemp(path.join(req.workDir, 'nmstate-'));
  try {
    const root = await locateRootImage(req.isoPath);
    const binary = await extractFromRootImage(req.isoPath, root, scratch, { signal: req.signal, timeout: req.timeout });
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

async function extractFromRootImage(
  isoPath: string,
  root: RootImageLocation,
  scratch: string,
  limits: ToolLimits,
): Promise<Buffer> {
  const [only] = root.ranges;
  if (root.kind === 'squashfs' && only !== undefined && root.ranges.length === 1) {
    return extractFromSquashfs({ path: isoPath, offset: only.offset }, limits);
  }
  const copy = path.join(scratch, `root.${root.kind}`);
  await copyRanges(isoPath, root.ranges, copy, limits.signal);
  return root.kind === 'squashfs'
    ? extractFromSquashfs({ path: copy, offset: 0 }, limits)
    : extractFromErofs(copy, scratch, limits);
}
