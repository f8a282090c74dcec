// Pure parsers for ECMA-119 (ISO 9660) volume descriptors and directory records.
import { IsoFormatError } from './iso9660-types.js';

/** Volume descriptors and directory-record sector boundaries always use 2048-byte sectors. */
export const SECTOR_SIZE = 2048;
export const FIRST_DESCRIPTOR_SECTOR = 16;

export const DESCRIPTOR_PRIMARY = 1;
export const DESCRIPTOR_TERMINATOR = 255;

export const FLAG_DIRECTORY = 0x02;
export const FLAG_ASSOCIATED = 0x04;
export const FLAG_MULTI_EXTENT = 0x80;

const STANDARD_ID = 'CD001';
const MIN_RECORD_LENGTH = 34;
const RECORD_NAME_OFFSET = 33;

export interface DirectoryRecord {
  /** Offset of the record inside its directory extent (for error messages). */
  position: number;
  extentLba: number;
  extAttrLength: number;
  dataLength: number;
  recordedAt: Date;
  flags: number;
  fileUnitSize: number;
  interleaveGap: number;
  /** Raw identifier as latin1; '\0' is "." and '\x01' is "..". */
  identifier: string;
  systemUse: Buffer;
}

export interface VolumeDescriptorHeader {
  type: number;
  isStandard: boolean;
}

export interface PrimaryVolume {
  volumeId: string;
  blockSize: number;
  volumeSpaceSize: number;
  root: DirectoryRecord;
}

export function parseDescriptorHeader(sector: Buffer): VolumeDescriptorHeader {
  return { type: sector[0] ?? -1, isStandard: sector.toString('latin1', 1, 6) === STANDARD_ID };
}

export function parsePrimaryVolume(sector: Buffer): PrimaryVolume {
  if (sector.length < SECTOR_SIZE) throw new IsoFormatError('primary volume descriptor is truncated');
  const blockSize = sector.readUInt16LE(128);
  if (blockSize !== 512 && blockSize !== 1024 && blockSize !== 2048) {
    throw new IsoFormatError(`primary volume descriptor has an invalid logical block size ${blockSize}`);
  }
  const volumeSpaceSize = sector.readUInt32LE(80);
  if (volumeSpaceSize === 0) throw new IsoFormatError('primary volume descriptor has a zero volume space size');
  const root = parseDirectoryRecord(sector.subarray(156, 156 + MIN_RECORD_LENGTH), 0);
  if (root === undefined || (root.flags & FLAG_DIRECTORY) === 0) {
    throw new IsoFormatError('primary volume descriptor has an invalid root directory record');
  }
  return { volumeId: trimPadding(sector.toString('latin1', 40, 72)), blockSize, volumeSpaceSize, root };
}

function trimPadding(text: string): string {
  return text.replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
}

/**
 * Parses the record at `position`. Returns undefined for a zero length byte, which means
 * "no more records in this sector"; throws when the record does not fit its buffer.
 */
export function parseDirectoryRecord(buf: Buffer, position: number): DirectoryRecord | undefined {
  const length = buf[position] ?? 0;
  if (length === 0) return undefined;
  if (length < MIN_RECORD_LENGTH || position + length > buf.length) {
    throw new IsoFormatError(`directory record at byte ${position} has an invalid length ${length}`);
  }
  const rec = buf.subarray(position, position + length);
  const nameLength = rec[32] ?? 0;
  const nameEnd = RECORD_NAME_OFFSET + nameLength;
  if (nameLength === 0 || nameEnd > length) {
    throw new IsoFormatError(`directory record at byte ${position} has an invalid name length ${nameLength}`);
  }
  // A pad byte follows even-length identifiers so the system use area starts on an even offset.
  const systemUseStart = nameEnd + (nameLength % 2 === 0 ? 1 : 0);
  return {
    position,
    extentLba: rec.readUInt32LE(2),
    extAttrLength: rec[1] ?? 0,
    dataLength: rec.readUInt32LE(10),
    recordedAt: parseRecordingDate(rec.subarray(18, 25)),
    flags: rec[25] ?? 0,
    fileUnitSize: rec[26] ?? 0,
    interleaveGap: rec[27] ?? 0,
    identifier: rec.toString('latin1', RECORD_NAME_OFFSET, nameEnd),
    systemUse: rec.subarray(Math.min(systemUseStart, length)),
  };
}

/** Iterates the records of a directory extent, honouring sector-end padding. */
export function* directoryRecords(extent: Buffer): Generator<DirectoryRecord> {
  let position = 0;
  while (position < extent.length) {
    const record = parseDirectoryRecord(extent, position);
    if (record === undefined) {
      // Records never cross a sector boundary: the rest of this sector is padding.
      position = (Math.floor(position / SECTOR_SIZE) + 1) * SECTOR_SIZE;
      continue;
    }
    const length = extent[position] ?? 0;
    if (Math.floor(position / SECTOR_SIZE) !== Math.floor((position + length - 1) / SECTOR_SIZE)) {
      throw new IsoFormatError(`directory record at byte ${position} crosses a sector boundary`);
    }
    yield record;
    position += length;
  }
}

/** The 7-byte directory record date: years since 1900, month, day, h, m, s, GMT offset in 15 min units. */
export function parseRecordingDate(bytes: Buffer): Date {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = bytes;
  if (month < 1 || month > 12 || day < 1 || day > 31) return new Date(0);
  const gmtOffsetMinutes = bytes.readInt8(6) * 15;
  const utc = Date.UTC(1900 + year, month - 1, day, hour, minute, second);
  return new Date(utc - gmtOffsetMinutes * 60_000);
}

/** Name shown when Rock Ridge gives none: drop the ";1" version and a trailing ".", lowercase. */
export function isoFallbackName(identifier: string): string {
  return identifier.replace(/;\d*$/, '').replace(/\.$/, '').toLowerCase();
}
