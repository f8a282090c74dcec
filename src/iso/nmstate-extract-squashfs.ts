/**
 * nmstatectl out of a squashfs root image with unsquashfs (squashfs-tools ≥ 4.5 for -cat). The
 * image is read in place at a byte offset of the ISO (`-o`), so nothing is copied.
 */
import { runChild, type ToolLimits } from './child-process.js';
import { pickNmstatectlPath } from './nmstate-extract-paths.js';

export interface SquashfsImage {
  /** The file holding the image: the ISO itself, or a copy. */
  path: string;
  /** Where the image starts in that file. */
  offset: number;
}

/** A RHCOS listing is ~10 MiB; this only guards against a runaway tool. */
const MAX_LISTING_BYTES = 256 * 1024 * 1024;
export const MAX_NMSTATECTL_BYTES = 512 * 1024 * 1024;
/** unsquashfs caches up to 256 MiB per queue by default; one file needs far less. */
const QUEUE_MEGABYTES = '32';

export class SquashfsExtractError extends Error {
  override readonly name = 'SquashfsExtractError';
}

export async function extractFromSquashfs(image: SquashfsImage, limits: ToolLimits = {}): Promise<Buffer> {
  const common = ['-o', String(image.offset), '-da', QUEUE_MEGABYTES, '-fr', QUEUE_MEGABYTES];
  // -d '' makes the listing print image paths ('/usr/bin/…') rather than 'squashfs-root/…'.
  const listing = await runChild('unsquashfs', [...common, '-d', '', '-lc', image.path], {
    ...limits,
    maxStdoutBytes: MAX_LISTING_BYTES,
  });
  const target = pickNmstatectlPath(listing.stdout.toString('utf8').split('\n'));
  if (target === undefined) throw new SquashfsExtractError('the squashfs root image has no bin/nmstatectl');
  const { stdout } = await runChild('unsquashfs', [...common, '-no-wildcards', '-cat', image.path, target], {
    ...limits,
    maxStdoutBytes: MAX_NMSTATECTL_BYTES,
  });
  return stdout;
}
