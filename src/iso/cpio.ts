/**
 * A writer for "newc" (SVR4, magic 070701) cpio archives: the only format the Linux kernel
 * unpacks as an initramfs. Used to wrap the Ignition config and nmstatectl as extra initrds.
 */

const NEWC_MAGIC = '070701';
const HEADER_SIZE = 110;
const TRAILER_NAME = 'TRAILER!!!';
const DIRECTORY_MODE = 0o040755;
const MAX_FIELD = 0xffffffff;

export interface CpioEntry {
  /** Relative path inside the archive; a leading '/' is dropped. */
  path: string;
  data: Buffer;
  /** Full st_mode, file type bits included (e.g. 0o100644). */
  mode: number;
  /** Seconds since the epoch; 0 by default so the archive is reproducible. */
  mtime?: number;
}

/** An entry cannot be written: bad path, duplicate, or a value too large for a header field. */
export class CpioEntryError extends Error {
  override readonly name = 'CpioEntryError';
}

interface HeaderFields {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  fileSize: number;
  nameSize: number;
}

/** Builds a complete archive (ending with the TRAILER!!! entry) holding `entries` and their parent directories. */
export function buildNewcArchive(entries: CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const seenDirectories = new Set<string>();
  const seenFiles = new Set<string>();
  let nextInode = 1;
  for (const entry of entries) {
    const path = normaliseArchivePath(entry.path);
    if (seenFiles.has(path) || seenDirectories.has(path)) {
      throw new CpioEntryError(`cpio entry '${path}' is given twice`);
    }
    const mtime = entry.mtime ?? 0;
    // The kernel creates a file only when its directory exists, so parents come first.
    for (const directory of parentDirectories(path)) {
      if (seenFiles.has(directory)) {
        throw new CpioEntryError(`cpio entry '${path}' is below the file '${directory}'`);
      }
      if (seenDirectories.has(directory)) continue;
      seenDirectories.add(directory);
      const fields = { ino: nextInode++, mode: DIRECTORY_MODE, nlink: 2, mtime, fileSize: 0 };
      chunks.push(...encodeEntry(directory, fields, Buffer.alloc(0)));
    }
    seenFiles.add(path);
    const fields = { ino: nextInode++, mode: entry.mode, nlink: 1, mtime, fileSize: entry.data.length };
    chunks.push(...encodeEntry(path, fields, entry.data));
  }
  chunks.push(...encodeEntry(TRAILER_NAME, { ino: 0, mode: 0, nlink: 1, mtime: 0, fileSize: 0 }, Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

function normaliseArchivePath(rawPath: string): string {
  const path = rawPath.replace(/^\/+/, '');
  const segments = path.split('/');
  if (path === '' || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new CpioEntryError(`invalid cpio entry path '${rawPath}'`);
  }
  if (path.includes('\0')) {
    throw new CpioEntryError(`cpio entry path '${rawPath}' contains a NUL byte`);
  }
  return path;
}

/** 'usr/bin/nmstatectl' → ['usr', 'usr/bin']. */
function parentDirectories(path: string): string[] {
  const segments = path.split('/');
  const parents: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    parents.push(segments.slice(0, i).join('/'));
  }
  return parents;
}

function encodeEntry(name: string, fields: Omit<HeaderFields, 'nameSize'>, data: Buffer): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header = encodeHeader({ ...fields, nameSize: nameBytes.length });
  const namePadding = paddingTo4(HEADER_SIZE + nameBytes.length);
  return [header, nameBytes, Buffer.alloc(namePadding), data, Buffer.alloc(paddingTo4(data.length))];
}

function encodeHeader(fields: HeaderFields): Buffer {
  const values = [
    fields.ino,
    fields.mode,
    0, // uid
    0, // gid
    fields.nlink,
    fields.mtime,
    fields.fileSize,
    0, // devmajor
    0, // devminor
    0, // rdevmajor
    0, // rdevminor
    fields.nameSize,
    0, // check: only used by the 070702 "crc" variant
  ];
  return Buffer.from(NEWC_MAGIC + values.map(hexField).join(''), 'ascii');
}

function hexField(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FIELD) {
    throw new CpioEntryError(`value ${value} does not fit a cpio newc header field (0..${MAX_FIELD})`);
  }
  return value.toString(16).toUpperCase().padStart(8, '0');
}

export function paddingTo4(length: number): number {
  return (4 - (length % 4)) % 4;
}
