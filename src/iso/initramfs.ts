/** What the kernel unpacks as an initramfs: newc cpio archives, and the gzip'd payloads built from them. */
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gzip, gzipSync } from 'node:zlib';
import { IsoError } from './iso9660.js';

const HEADER_SIZE = 110;
const TRAILER_NAME = 'TRAILER!!!';
const MAX_FIELD = 0xffffffff;
/** Names longer than this are not paths we look for; the bound keeps a corrupt header cheap. */
const MAX_NAME_SIZE = 4096;
/** A live rootfs.img holds a handful of members; this bounds a search through a corrupt one. */
const MAX_MEMBERS = 1024;
/** Every RHCOS live ISO's Ignition area; the PXE initrd has none but is held to the same bound, as the ISO would be. */
export const STANDARD_IGNITION_AREA_BYTES = 256 * 1024;
/** How far past the area an Ignition compressed alone may go: cpio framing shifts deflate's output by a few bytes. */
const METER_MARGIN_BYTES = 1024;
const gzipAsync = promisify(gzip);

/** `mode` is the full st_mode (e.g. 0o100644); `mtime` (seconds) is 0 by default, so that archives are reproducible. */
export type CpioEntry = { path: string; data: Buffer; mode: number; mtime?: number };
export type ArchiveReader = (offset: number, length: number) => Promise<Buffer>;

export class CpioError extends IsoError {}

/** A complete archive, ending with the trailer, holding `entries` and their parent directories. */
export function buildNewcArchive(entries: CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const [directories, files] = [new Set<string>(), new Set<string>()];
  let inode = 1;
  for (const { path: rawPath, data, mode, mtime = 0 } of entries) {
    const path = rawPath.replace(/^\/+/, '');
    const segments = path.split('/');
    if (segments.some((s) => ['', '.', '..'].includes(s))) throw new CpioError(`invalid cpio entry path '${rawPath}'`);
    if (path.includes('\0')) throw new CpioError(`cpio entry path '${rawPath}' contains a NUL byte`);
    if (files.has(path) || directories.has(path)) throw new CpioError(`cpio entry '${path}' is given twice`);
    // The kernel creates a file only when its directory exists, so parents come first.
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
  return [header, nameBytes, paddingTo4(HEADER_SIZE + nameBytes.length), data, paddingTo4(data.length)];
}

function paddingTo4(length: number): Buffer {
  return Buffer.alloc(alignTo4(length) - length);
}

/** The mode, file size and name size (NUL included) of the 110-byte ASCII header. */
export function parseNewcHeader(header: Buffer, at = 0): { mode: number; fileSize: number; nameSize: number } {
  if (header.length < HEADER_SIZE)
    throw new CpioError(`cpio header at offset ${at} is cut short (${header.length} bytes)`);
  const magic = header.toString('latin1', 0, 6);
  if (magic !== '070701' && magic !== '070702')
    throw new CpioError(`no newc cpio header at offset ${at} (magic ${JSON.stringify(magic)})`);
  const field = (index: number): number => {
    const text = header.toString('latin1', 6 + index * 8, 14 + index * 8);
    if (/^[0-9A-Fa-f]{8}$/.test(text)) return Number.parseInt(text, 16);
    throw new CpioError(`cpio header at offset ${at} has a non-hex field ${JSON.stringify(text)}`);
  };
  return { mode: field(1), fileSize: field(6), nameSize: field(11) };
}

/**
 * Reads only headers: the first member of an archive of `archiveSize` bytes for which `wanted(name)` holds, if any;
 * `name` has no leading './' or '/', `dataOffset` is from the start of the archive.
 */
export async function findNewcMember(read: ArchiveReader, archiveSize: number, wanted: (name: string) => boolean) {
  for (let [index, offset] = [0, 0]; index < MAX_MEMBERS; index++) {
    if (offset + HEADER_SIZE > archiveSize)
      throw new CpioError(`cpio archive ends at ${archiveSize} bytes without a ${TRAILER_NAME} member`);
    const { mode, fileSize: size, nameSize } = parseNewcHeader(await read(offset, HEADER_SIZE), offset);
    if (nameSize < 1 || nameSize > MAX_NAME_SIZE)
      throw new CpioError(`cpio header at offset ${offset} has an invalid name size ${nameSize}`);
    const dataOffset = alignTo4(offset + HEADER_SIZE + nameSize);
    if (dataOffset + size > archiveSize) {
      const where = `cpio member at offset ${offset} (${size} bytes)`;
      throw new CpioError(`${where} runs past the end of the archive (${archiveSize} bytes)`);
    }
    const rawName = (await read(offset + HEADER_SIZE, nameSize)).toString('utf8');
    const name = rawName.replace(/\0.*$/s, '').replace(/^(?:\.\/|\/)+/, '');
    if (name === TRAILER_NAME) return undefined;
    if (wanted(name)) return { name, mode, dataOffset, size };
    offset = alignTo4(dataOffset + size);
  }
  throw new CpioError(`no matching member among the first ${MAX_MEMBERS} cpio members`);
}

function alignTo4(value: number): number {
  return Math.ceil(value / 4) * 4;
}

/** `payloadSize` is undefined when compression stopped as soon as it passed the area: only "more than" is known. */
export class IgnitionTooLargeError extends IsoError {
  constructor(
    readonly payloadSize: number | undefined,
    readonly areaSize: number,
  ) {
    const size = payloadSize === undefined ? `more than ${areaSize}` : String(payloadSize);
    super(`Ignition payload is ${size} bytes, larger than the ISO's ${areaSize}-byte Ignition area`);
  }
}

export function buildCompressedCpio(entries: CpioEntry[]): Buffer {
  return padTo4(gzipSync(buildNewcArchive(entries)));
}

/** Compressed on the thread pool; with `maxBytes` (the area) it stops as soon as the output passes it. */
export async function buildIgnitionPayload(ignition: Buffer, maxBytes?: number): Promise<Buffer> {
  const archive = buildNewcArchive([{ path: 'config.ign', data: ignition, mode: 0o100644 }]);
  const bound = maxBytes === undefined ? {} : { maxOutputLength: Math.max(1, maxBytes) };
  const compressed = await gzipAsync(archive, bound).catch((error: unknown) => {
    const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw maxBytes !== undefined && tooLarge ? new IgnitionTooLargeError(undefined, maxBytes) : error;
  });
  const payload = padTo4(compressed);
  if (maxBytes !== undefined && payload.length > maxBytes) throw new IgnitionTooLargeError(payload.length, maxBytes);
  return payload;
}

export function buildNmstateRamdisk(nmstatectl: Buffer): Buffer {
  return buildCompressedCpio([{ path: 'usr/bin/nmstatectl', data: nmstatectl, mode: 0o100755 }]);
}

/** Compresses an Ignition as it arrives to count the output: past the area, the rest of it need not be read. */
export class IgnitionSizeMeter {
  private readonly gzip = createGzip();
  private compressedBytes = 0;
  private failure: Error | undefined;

  constructor(private readonly maxPayloadBytes: number) {
    this.gzip.on('data', (chunk: Buffer) => void (this.compressedBytes += chunk.length));
    this.gzip.on('error', (error) => void (this.failure = error));
  }

  get cannotFit(): boolean {
    return this.compressedBytes > this.maxPayloadBytes + METER_MARGIN_BYTES;
  }

  /** Resolves once `chunk` is compressed, so the count is current and the reader never runs ahead of it. */
  write(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.gzip.write(chunk, (error) => (error ? reject(error) : resolve())));
  }

  /** Compresses what is left; `cannotFit` is then final. */
  async end(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.gzip.end();
    await finished(this.gzip);
  }

  /** Frees the compressor, whether or not the Ignition was read to its end. */
  close(): void {
    this.gzip.destroy();
  }
}

/** The kernel finds the next archive of a concatenated initrd (ramdisk, nmstate) at a 4-byte boundary. */
function padTo4(compressed: Buffer): Buffer {
  return compressed.length % 4 === 0 ? compressed : Buffer.concat([compressed, paddingTo4(compressed.length)]);
}
