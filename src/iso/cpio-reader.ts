/**
 * Walks the headers of a "newc" cpio archive (magic 070701, or 070702 with checksums) without
 * reading member data, to find where a member's bytes lie. The live rootfs.img is such an archive
 * around the root filesystem image, and is too large to read whole.
 */

const NEWC_MAGICS = new Set(['070701', '070702']);
export const NEWC_HEADER_SIZE = 110;
const TRAILER_NAME = 'TRAILER!!!';
/** Names longer than this are not paths we look for; the bound keeps a corrupt header cheap. */
const MAX_NAME_SIZE = 4096;
const DEFAULT_MAX_MEMBERS = 1024;

/** The archive is not newc cpio, or a header points outside it. */
export class CpioFormatError extends Error {
  override readonly name = 'CpioFormatError';
}

export interface NewcHeaderFields {
  mode: number;
  fileSize: number;
  /** Includes the terminating NUL. */
  nameSize: number;
}

export interface CpioMemberLocation {
  /** Path as stored, without a leading './' or '/'. */
  name: string;
  mode: number;
  /** Offset of the member's data from the start of the archive. */
  dataOffset: number;
  size: number;
}

/** Reads `length` bytes at `offset` of the archive. */
export type ArchiveReader = (offset: number, length: number) => Promise<Buffer>;

/** Parses the 110-byte ASCII header: magic then 13 eight-digit hex fields. */
export function parseNewcHeader(header: Buffer, at = 0): NewcHeaderFields {
  if (header.length < NEWC_HEADER_SIZE) {
    throw new CpioFormatError(`cpio header at offset ${at} is cut short (${header.length} bytes)`);
  }
  const magic = header.toString('latin1', 0, 6);
  if (!NEWC_MAGICS.has(magic)) {
    throw new CpioFormatError(`no newc cpio header at offset ${at} (magic ${JSON.stringify(magic)})`);
  }
  const field = (index: number): number => {
    const text = header.toString('latin1', 6 + index * 8, 14 + index * 8);
    if (!/^[0-9A-Fa-f]{8}$/.test(text)) {
      throw new CpioFormatError(`cpio header at offset ${at} has a non-hex field ${JSON.stringify(text)}`);
    }
    return Number.parseInt(text, 16);
  };
  return { mode: field(1), fileSize: field(6), nameSize: field(11) };
}

function alignTo4(value: number): number {
  return Math.ceil(value / 4) * 4;
}

/**
 * Walks the members of an archive of `archiveSize` bytes until `wanted(name)` holds; returns
 * undefined at the trailer. Every member must lie inside the archive.
 */
export async function findNewcMember(
  read: ArchiveReader,
  archiveSize: number,
  wanted: (name: string) => boolean,
  maxMembers = DEFAULT_MAX_MEMBERS,
): Promise<CpioMemberLocation | undefined> {
  let offset = 0;
  for (let index = 0; index < maxMembers; index++) {
    const member = await readMemberAt(read, archiveSize, offset);
    if (member.name === TRAILER_NAME) return undefined;
    if (wanted(member.name)) return member;
    offset = alignTo4(member.dataOffset + member.size);
  }
  throw new CpioFormatError(`no matching member among the first ${maxMembers} cpio members`);
}

async function readMemberAt(read: ArchiveReader, archiveSize: number, offset: number): Promise<CpioMemberLocation> {
  if (offset + NEWC_HEADER_SIZE > archiveSize) {
    throw new CpioFormatError(`cpio archive ends at ${archiveSize} bytes without a ${TRAILER_NAME} member`);
  }
  const header = parseNewcHeader(await read(offset, NEWC_HEADER_SIZE), offset);
  if (header.nameSize < 1 || header.nameSize > MAX_NAME_SIZE) {
    throw new CpioFormatError(`cpio header at offset ${offset} has an invalid name size ${header.nameSize}`);
  }
  const nameStart = offset + NEWC_HEADER_SIZE;
  const dataOffset = alignTo4(nameStart + header.nameSize);
  if (dataOffset + header.fileSize > archiveSize) {
    throw new CpioFormatError(
      `cpio member at offset ${offset} (${header.fileSize} bytes) runs past the end of the archive (${archiveSize} bytes)`,
    );
  }
  const rawName = (await read(nameStart, header.nameSize)).toString('utf8');
  const name = rawName.replace(/\0.*$/s, '').replace(/^(?:\.\/|\/)+/, '');
  return { name, mode: header.mode, dataOffset, size: header.fileSize };
}
