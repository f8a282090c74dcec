/** ECMA-119 (ISO 9660): bounds-checked reads of an image, never read whole; its volume descriptors and records. */
import { open, type FileHandle } from 'node:fs/promises';

/** Volume descriptors and directory-record sector boundaries always use 2048-byte sectors. */
const SECTOR_SIZE = 2048;
const FIRST_DESCRIPTOR_SECTOR = 16;
/** Real images have a handful (primary, boot record, Joliet, terminator); this bounds a corrupt set. */
const MAX_DESCRIPTORS = 64;
const JOLIET_ESCAPES = new Set(['%/@', '%/C', '%/E']);
const MIN_RECORD_LENGTH = 34;

/** The ISO library's failures: `name` is the class's own, so a log line says which one it was. */
export class IsoError extends Error {
  override readonly name: string = this.constructor.name;
}

export class IsoFormatError extends IsoError {}

export type IsoExtent = { offset: number; size: number };

/** `path` has no leading slash ('' for the root); `offset` is the first extent's; `mode` is Rock Ridge's st_mode. */
export interface IsoFile {
  path: string;
  offset: number;
  size: number;
  extents: IsoExtent[];
  isDirectory: boolean;
  mtime: Date;
  mode?: number;
}

/** `volumeSpaceSize` is in logical blocks; `files()` lists every entry but the root, parents first. */
export interface IsoIndex {
  readonly volumeId: string;
  readonly blockSize: number;
  readonly volumeSpaceSize: number;
  readonly hasJolietTree: boolean;
  get(path: string): IsoFile | undefined;
  /** Throws IsoFormatError naming the path when it is missing. */
  require(path: string): IsoFile;
  files(): IsoFile[];
}

/** `lba` and `size` locate the record's data; `identifier` is latin1: '\0' is "." and '\x01' is "..". */
export type DirectoryRecord = NonNullable<ReturnType<typeof parseDirectoryRecord>>;
type PrimaryVolume = Omit<IsoIndex, 'get' | 'require' | 'files'> & { root: DirectoryRecord };

export class IsoImageReader {
  private constructor(
    private readonly handle: FileHandle,
    readonly fileSize: number,
  ) {}

  static async use<T>(isoPath: string, use: (reader: IsoImageReader) => Promise<T>): Promise<T> {
    const handle = await open(isoPath, 'r');
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new IsoFormatError(`not an ISO 9660 image: ${isoPath} is not a regular file`);
      return await use(new IsoImageReader(handle, stats.size));
    } finally {
      await handle.close();
    }
  }

  assertInside(offset: number, length: number, what: string): void {
    const valid = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
    const where = `${what} at bytes ${offset}..${offset + length}`;
    const problem = `${where} lies beyond the end of the file (${this.fileSize} bytes)`;
    if (!valid || offset + length > this.fileSize) throw new IsoFormatError(`truncated or corrupt image: ${problem}`);
  }

  async read(offset: number, length: number, what: string): Promise<Buffer> {
    // Empty files may record any extent location; there is nothing to read there.
    if (length === 0) return Buffer.alloc(0);
    this.assertInside(offset, length, what);
    const buffer = Buffer.alloc(length);
    for (let done = 0; done < length;) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0)
        throw new IsoFormatError(`truncated image: the file ended while reading ${what} at byte ${offset + done}`);
      done += bytesRead;
    }
    return buffer;
  }

  async readRanges(ranges: IsoExtent[], what: string): Promise<Buffer> {
    return Buffer.concat(await Promise.all(ranges.map(({ offset, size }) => this.read(offset, size, what))));
  }
}

/** Reads a small file (a config) whole; refuses directories and files larger than `maxBytes`. */
export async function readIsoFileBytes(isoPath: string, file: IsoFile, maxBytes = 16 * 1024 * 1024): Promise<Buffer> {
  if (file.isDirectory) throw new IsoFormatError(`${file.path} is a directory, not a file`);
  if (file.size > maxBytes)
    throw new IsoFormatError(`${file.path} is ${file.size} bytes, more than the ${maxBytes}-byte limit`);
  return IsoImageReader.use(isoPath, (reader) => reader.readRanges(file.extents, `data of ${file.path}`));
}

export function regularFile(index: IsoIndex, path: string): IsoFile | undefined {
  const file = index.get(path);
  return file?.isDirectory === false ? file : undefined;
}

/** Where bytes [offset, offset + length) of `file` lie in the image, adjacent extents merged. */
export function fileRanges(file: IsoFile, offset: number, length: number): IsoExtent[] {
  const ranges: IsoExtent[] = [];
  let extentStart = 0;
  for (const extent of file.extents) {
    const [start, end] = [Math.max(offset, extentStart), Math.min(offset + length, extentStart + extent.size)];
    const absolute = extent.offset + (start - extentStart);
    const last = ranges.at(-1);
    if (start < end && last !== undefined && last.offset + last.size === absolute) last.size += end - start;
    else if (start < end) ranges.push({ offset: absolute, size: end - start });
    extentStart += extent.size;
  }
  return ranges;
}

/** The ISO offset of `length` bytes at `at` of `file`, which must be contiguous: a patch is one write. */
export function absoluteOffset(file: IsoFile, at: number, length: number, fail: (m: string) => Error): number {
  const [first, ...rest] = at >= 0 && length > 0 && at + length <= file.size ? fileRanges(file, at, length) : [];
  const range = `range ${at}+${length}`;
  if (rest.length > 0) throw fail(`${range} of '${file.path}' spans two extents`);
  if (first?.size !== length) throw fail(`${range} is outside '${file.path}' (${file.size} bytes)`);
  return first.offset;
}

/** A config of the ISO (igninfo.json, kargs.json) or of assisted-service, parsed; `what` names it in `fail(message)`. */
export function parseJson(json: Buffer | string, what: string, fail: (message: string) => Error): unknown {
  try {
    return JSON.parse(json.toString());
  } catch (error) {
    throw fail(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The descriptor set from sector 16, up to the terminator; `stop` says why it ended otherwise. */
async function readDescriptors(reader: IsoImageReader): Promise<{ sectors: Buffer[]; stop?: string }> {
  const sectors: Buffer[] = [];
  for (let index = 0; index < MAX_DESCRIPTORS; index++) {
    const offset = (FIRST_DESCRIPTOR_SECTOR + index) * SECTOR_SIZE;
    if (offset + SECTOR_SIZE > reader.fileSize) return { sectors, stop: `the file ends at byte ${reader.fileSize}` };
    const sector = await reader.read(offset, SECTOR_SIZE, 'volume descriptor');
    if (sector.toString('latin1', 1, 6) !== 'CD001')
      return { sectors, stop: `no "CD001" signature at sector ${FIRST_DESCRIPTOR_SECTOR + index}` };
    if (sector[0] === 255) return { sectors };
    sectors.push(sector);
  }
  return { sectors, stop: `none among the first ${MAX_DESCRIPTORS} descriptors` };
}

export async function readPrimaryVolume(reader: IsoImageReader): Promise<PrimaryVolume> {
  const { sectors, stop } = await readDescriptors(reader);
  const sector = sectors.find((candidate) => candidate[0] === 1);
  if (sector === undefined) {
    const detail = stop ?? 'the descriptor set ends without one';
    throw new IsoFormatError(`not an ISO 9660 image: no primary volume descriptor (${detail})`);
  }
  const blockSize = sector.readUInt16LE(128);
  if (blockSize !== 512 && blockSize !== 1024 && blockSize !== 2048)
    throw new IsoFormatError(`primary volume descriptor has an invalid logical block size ${blockSize}`);
  const volumeSpaceSize = sector.readUInt32LE(80);
  if (volumeSpaceSize === 0) throw new IsoFormatError('primary volume descriptor has a zero volume space size');
  const root = parseDirectoryRecord(sector.subarray(156, 156 + MIN_RECORD_LENGTH), 0);
  if (root === undefined || (root.flags & 0x02) === 0)
    throw new IsoFormatError('primary volume descriptor has an invalid root directory record');
  const volumeId = sector.toString('latin1', 40, 72).replace(/^[\0 ]+|[\0 ]+$/g, '');
  // A supplementary volume descriptor with a UCS-2 escape sequence is a Joliet tree.
  const hasJolietTree = sectors.some((s) => s[0] === 2 && JOLIET_ESCAPES.has(s.toString('latin1', 88, 91)));
  return { volumeId, blockSize, volumeSpaceSize, hasJolietTree, root };
}

/** Undefined for a zero length byte ("no more records in this sector"); throws when the record does not fit. */
function parseDirectoryRecord(buf: Buffer, position: number) {
  const length = buf[position] ?? 0;
  if (length === 0) return undefined;
  if (length < MIN_RECORD_LENGTH || position + length > buf.length)
    throw new IsoFormatError(`directory record at byte ${position} has an invalid length ${length}`);
  const rec = buf.subarray(position, position + length);
  const nameLength = rec[32] ?? 0;
  const nameEnd = 33 + nameLength;
  if (nameLength === 0 || nameEnd > length)
    throw new IsoFormatError(`directory record at byte ${position} has an invalid name length ${nameLength}`);
  // A pad byte follows even-length identifiers so that the System Use area starts on an even offset.
  const systemUseStart = nameEnd + (nameLength % 2 === 0 ? 1 : 0);
  return {
    // The extended attribute record, if any, comes first.
    lba: rec.readUInt32LE(2) + (rec[1] ?? 0),
    size: rec.readUInt32LE(10),
    recordedAt: parseRecordingDate(rec.subarray(18, 25)),
    flags: rec[25] ?? 0,
    interleaved: rec[26] !== 0 || rec[27] !== 0,
    identifier: rec.toString('latin1', 33, nameEnd),
    systemUse: rec.subarray(Math.min(systemUseStart, length)),
  };
}

/** The records of a directory extent. Records never cross a sector boundary: a zero byte pads to the next one. */
export function* directoryRecords(extent: Buffer): Generator<DirectoryRecord> {
  for (let position = 0; position < extent.length;) {
    const record = parseDirectoryRecord(extent, position);
    const sector = Math.floor(position / SECTOR_SIZE);
    const next = record === undefined ? (sector + 1) * SECTOR_SIZE : position + (extent[position] ?? 0);
    if (Math.floor((next - 1) / SECTOR_SIZE) !== sector)
      throw new IsoFormatError(`directory record at byte ${position} crosses a sector boundary`);
    if (record !== undefined) yield record;
    position = next;
  }
}

/** Years since 1900, month, day, hour, minute, second, then the GMT offset in 15-minute units. */
function parseRecordingDate(bytes: Buffer): Date {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = bytes;
  if (month < 1 || month > 12 || day < 1 || day > 31) return new Date(0);
  return new Date(Date.UTC(1900 + year, month - 1, day, hour, minute, second) - bytes.readInt8(6) * 15 * 60_000);
}
