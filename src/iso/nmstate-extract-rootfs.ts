/**
 * Finds the root filesystem image inside the live ISO without reading it: rootfs.img is a newc
 * cpio whose (first) member is root.squashfs or root.erofs, so only its headers are read, and the
 * member's bytes are described as byte ranges of the ISO file.
 */
import { open } from 'node:fs/promises';
import { findNewcMember } from './cpio-reader.js';
import { throwIfAborted } from './child-process.js';
import { readIsoIndex } from './iso9660.js';
import { withIsoReader } from './iso9660-reader.js';
import type { IsoExtent, IsoFile } from './iso9660-types.js';

export const ROOTFS_PATH = 'images/pxeboot/rootfs.img';
const ROOT_IMAGE_KINDS = { 'root.squashfs': 'squashfs', 'root.erofs': 'erofs' } as const;
const COPY_CHUNK = 1024 * 1024;

export type RootImageKind = (typeof ROOT_IMAGE_KINDS)[keyof typeof ROOT_IMAGE_KINDS];

export interface RootImageLocation {
  kind: RootImageKind;
  /** The image's bytes as ranges of the ISO file, in order; one range when contiguous. */
  ranges: IsoExtent[];
  size: number;
}

/** The ISO has no rootfs.img, or no root.squashfs / root.erofs inside it. */
export class RootImageNotFoundError extends Error {
  override readonly name = 'RootImageNotFoundError';
}

export async function locateRootImage(isoPath: string): Promise<RootImageLocation> {
  const index = await readIsoIndex(isoPath);
  const rootfs = index.get(ROOTFS_PATH);
  if (rootfs === undefined || rootfs.isDirectory) {
    throw new RootImageNotFoundError(`ISO image ${index.volumeId} has no ${ROOTFS_PATH}`);
  }
  const member = await withIsoReader(isoPath, (reader) => {
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const parts: Buffer[] = [];
      for (const range of fileRanges(rootfs, offset, length)) {
        parts.push(await reader.read(range.offset, range.size, `${ROOTFS_PATH} bytes ${offset}..${offset + length}`));
      }
      return Buffer.concat(parts);
    };
    return findNewcMember(read, rootfs.size, (name) => name in ROOT_IMAGE_KINDS);
  });
  if (member === undefined) {
    throw new RootImageNotFoundError(`${ROOTFS_PATH} holds neither root.squashfs nor root.erofs`);
  }
  const kind = ROOT_IMAGE_KINDS[member.name as keyof typeof ROOT_IMAGE_KINDS];
  return { kind, ranges: fileRanges(rootfs, member.dataOffset, member.size), size: member.size };
}

/** Where bytes [offset, offset + length) of `file` lie in the image, adjacent extents merged. */
export function fileRanges(file: IsoFile, offset: number, length: number): IsoExtent[] {
  const extents = file.extents.length > 0 ? file.extents : [{ offset: file.offset, size: file.size }];
  const ranges: IsoExtent[] = [];
  let extentStart = 0;
  for (const extent of extents) {
    const start = Math.max(offset, extentStart);
    const end = Math.min(offset + length, extentStart + extent.size);
    if (start < end) {
      const absolute = extent.offset + (start - extentStart);
      const last = ranges.at(-1);
      if (last !== undefined && last.offset + last.size === absolute) last.size += end - start;
      else ranges.push({ offset: absolute, size: end - start });
    }
    extentStart += extent.size;
  }
  return ranges;
}

/** Copies `ranges` of `isoPath` into a new file `target`, a chunk at a time. */
export async function copyRanges(
  isoPath: string,
  ranges: IsoExtent[],
  target: string,
  signal?: AbortSignal,
): Promise<void> {
  const source = await open(isoPath, 'r');
  try {
    const output = await open(target, 'wx');
    try {
      const chunk = Buffer.alloc(COPY_CHUNK);
      for (const range of ranges) {
        for (let done = 0; done < range.size;) {
          throwIfAborted(signal, `copying the root image to ${target}`);
          const want = Math.min(COPY_CHUNK, range.size - done);
          const { bytesRead } = await source.read(chunk, 0, want, range.offset + done);
          if (bytesRead === 0) throw new RootImageNotFoundError(`${isoPath} ended inside the root image`);
          await output.write(chunk, 0, bytesRead);
          done += bytesRead;
        }
      }
    } finally {
      await output.close();
    }
  } finally {
    await source.close();
  }
}
