/**
 * "newc" cpio (magic 070701; 070702 adds checksums): the only archive format the Linux kernel unpacks as an
 * initramfs. Written to wrap the Ignition config and nmstatectl as extra initrds; read (headers only) to find the root
 * filesystem image inside a live rootfs.img, which is too large to read whole.
 */
const HEADER_SIZE = 110;
const TRAILER_NAME = 'TRAILER!!!';
const MAX_FIELD = 0xffffffff;
/** Names longer than this are not paths we look for; the bound keeps a corrupt header cheap. */
const MAX_NAME_SIZE = 4096;

/**
 * `path` is relative (a leading '/' is dropped); `mode` the full st_mode (e.g. 0o100644); `mtime` in seconds since the
 * epoch, 0 by default so that the archive is reproducible.
 */
export type CpioEntry = { path: string; data: Buffer; mode: number; mtime?: number };
/** `dataOffset` from the start of the archive; `name` without a leading './' or '/'. */
type CpioMember = { name: string; mode: number; dataOffset: number; size: number };
export type ArchiveReader = (offset: number, length: number) => Promise<Buffer>;

/** An entry cannot be written (bad path, duplicate, value too large for a field), or an archive cannot be read. */
export class CpioError extends Error {
  override readonly name = 'CpioError';
}

/** A complete archive, ending with the trailer, holding `entries` and their parent directories. */
export function buildNewcArchive(entries: CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const [directories, files] = [new Set<string>(), new Set<string>()];
  let inode = 1;
  for (const { path: rawPath, data, mode, mtime = 0 } of entries) {
    const path = rawPath.replace(/^\/+/, '');
    if (path === '' || path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw new CpioError(`invalid cpio entry path '${rawPath}'`);
    }
    if (path.includes('\0')) throw new CpioError(`cpio entry path '${rawPath}' contains a NUL byte`);
    if (files.has(path) || directories.has(path)) throw new CpioError(`cpio entry '${path}' is given twice`);
    // The kernel creates a file only when its directory exists, so parents come first.
    const segments = path.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const directory = segments.slice(0, depth).join('/');
      if (files.has(directory)) throw new CpioError(`cpio entry '${path}' is below the file '${directory}'`);
      if (directories.has(directory)) continue;
      directories.add(directory);
      chunks.push(...encodeEntry(directory, [inode++, 0o040755, 2, mtime], Buffer.alloc(0)));
    }
    files.add(path);
    chunks.push(...encodeEntry(path, [inode++, mode, 1, mtime], data));
  }
  chunks.push(...encodeEntry(TRAILER_NAME, [0, 0, 1, 0], Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

/** `fields`: inode, mode, link count, mtime. */
function encodeEntry(name: string, [ino, mode, nlink, mtime]: number[], data: Buffer): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const values = [ino, mode, 0, 0, nlink, mtime, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const hex = values.map((value) => {
    if (Number.isInteger(value) && value >= 0 && value <= MAX_FIELD)
      return value.toString(16).toUpperCase().padStart(8, '0');
    throw new CpioError(`value ${value} does not fit a cpio newc header field (0..${MAX_FIELD})`);
  });
  const header = Buffer.from(`070701${hex.join('')}`, 'ascii');
  const namePadding = Buffer.alloc(paddingTo4(HEADER_SIZE + nameBytes.length));
  return [header, nameBytes, namePadding, data, Buffer.alloc(paddingTo4(data.length))];
}

export function paddingTo4(length: number): number {
  return (4 - (length % 4)) % 4;
}

/** The mode, file size and name size (NUL included) of the 110-byte ASCII header. */
export function parseNewcHeader(header: Buffer, at = 0): { mode: number; fileSize: number; nameSize: number } {
  if (header.length < HEADER_SIZE)
    throw new CpioError(`cpio header at offset ${at} is cut short (${header.length} bytes)`);
  const magic = header.toString('latin1', 0, 6);
  if (magic !== '070701' && magic !== '070702') {
    throw new CpioError(`no newc cpio header at offset ${at} (magic ${JSON.stringify(magic)})`);
  }
  const field = (index: number): number => {
    const text = header.toString('latin1', 6 + index * 8, 14 + index * 8);
    if (/^[0-9A-Fa-f]{8}$/.test(text)) return Number.parseInt(text, 16);
    throw new CpioError(`cpio header at offset ${at} has a non-hex field ${JSON.stringify(text)}`);
  };
  return { mode: field(1), fileSize: field(6), nameSize: field(11) };
}

/** Walks the members of an archive of `size` bytes until `wanted(name)` holds; undefined at the trailer. */
export async function findNewcMember(read: ArchiveReader, size: number, wanted: (name: string) => boolean, max = 1024) {
  for (let [index, offset] = [0, 0]; index < max; index++) {
    const member = await readMemberAt(read, size, offset);
    if (member.name === TRAILER_NAME) return undefined;
    if (wanted(member.name)) return member;
    offset = alignTo4(member.dataOffset + member.size);
  }
  throw new CpioError(`no matching member among the first ${max} cpio members`);
}

async function readMemberAt(read: ArchiveReader, archiveSize: number, offset: number): Promise<CpioMember> {
  if (offset + HEADER_SIZE > archiveSize) {
    throw new CpioError(`cpio archive ends at ${archiveSize} bytes without a ${TRAILER_NAME} member`);
  }
  const { mode, fileSize, nameSize } = parseNewcHeader(await read(offset, HEADER_SIZE), offset);
  if (nameSize < 1 || nameSize > MAX_NAME_SIZE) {
    throw new CpioError(`cpio header at offset ${offset} has an invalid name size ${nameSize}`);
  }
  const dataOffset = alignTo4(offset + HEADER_SIZE + nameSize);
  if (dataOffset + fileSize > archiveSize) {
    const where = `cpio member at offset ${offset} (${fileSize} bytes)`;
    throw new CpioError(`${where} runs past the end of the archive (${archiveSize} bytes)`);
  }
  const rawName = (await read(offset + HEADER_SIZE, nameSize)).toString('utf8');
  return { name: rawName.replace(/\0.*$/s, '').replace(/^(?:\.\/|\/)+/, ''), mode, dataOffset, size: fileSize };
}

function alignTo4(value: number): number {
  return Math.ceil(value / 4) * 4;
}
