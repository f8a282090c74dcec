/**
 * Where the Ignition payload goes in a live ISO, and the patch that puts it there.
 * `coreos/igninfo.json` names the area; old ISOs without it use all of `images/ignition.img`.
 */
import type { IsoFile, IsoIndex } from './iso9660-types.js';
import { fillArea, type Overwrite } from './virtual-file.js';

export const IGNINFO_PATH = 'coreos/igninfo.json';
export const DEFAULT_IGNITION_IMAGE_PATH = 'images/ignition.img';

/**
 * The Ignition area of every RHCOS live ISO (`images/ignition.img`, or igninfo.json's range on s390x). The PXE
 * initrd has no area, but its Ignition payload is held to the same bound: an Ignition too large for the ISO would
 * not be served any other way.
 */
export const STANDARD_IGNITION_AREA_BYTES = 256 * 1024;

export interface IgnitionArea {
  /** The ISO file holding the area, no leading slash. */
  file: string;
  /** Absolute byte offset in the ISO. */
  offset: number;
  length: number;
}

/** igninfo.json is malformed, or the area it names is not inside an ISO file. */
export class IgnitionAreaError extends Error {
  override readonly name = 'IgnitionAreaError';
}

/**
 * The payload is larger than the ISO's Ignition area. `payloadSize` is undefined when the payload was given up on
 * as soon as it passed the area, so only "more than" is known.
 */
export class IgnitionTooLargeError extends Error {
  override readonly name = 'IgnitionTooLargeError';

  constructor(
    readonly payloadSize: number | undefined,
    readonly areaSize: number,
  ) {
    const size = payloadSize === undefined ? `more than ${areaSize}` : String(payloadSize);
    super(`Ignition payload is ${size} bytes, larger than the ISO's ${areaSize}-byte Ignition area`);
  }
}

interface IgnInfo {
  file: string;
  offset?: number;
  length?: number;
}

/** `igninfoJson` is the content of coreos/igninfo.json, or undefined when the ISO has none. */
export function resolveIgnitionArea(index: IsoIndex, igninfoJson: Buffer | undefined): IgnitionArea {
  const info = igninfoJson === undefined ? { file: DEFAULT_IGNITION_IMAGE_PATH } : parseIgnInfo(igninfoJson);
  const file = index.get(info.file);
  if (file === undefined || file.isDirectory) {
    throw new IgnitionAreaError(`Ignition area file '${info.file}' is not in the ISO`);
  }
  const offsetInFile = info.offset ?? 0;
  if (offsetInFile > file.size) {
    throw new IgnitionAreaError(
      `Ignition area offset ${offsetInFile} is past the end of '${info.file}' (${file.size} bytes)`,
    );
  }
  const length = info.length ?? file.size - offsetInFile;
  if (length === 0) {
    throw new IgnitionAreaError(`Ignition area in '${info.file}' is empty`);
  }
  const offset = absoluteOffset(
    file,
    offsetInFile,
    length,
    (message) => new IgnitionAreaError(`Ignition area: ${message}`),
  );
  return { file: info.file, offset, length };
}

/** The area's new content: `payload`, then zeros up to the area's length. */
export function ignitionPatches(area: IgnitionArea, payload: Buffer): Overwrite[] {
  if (payload.length > area.length) {
    throw new IgnitionTooLargeError(payload.length, area.length);
  }
  return fillArea(area.offset, area.length, payload);
}

/**
 * The ISO offset of `length` bytes at `offsetInFile` of `file`. The range must sit inside one
 * extent: a patch is a single contiguous write into the image. `fail` builds the caller's error.
 */
export function absoluteOffset(
  file: IsoFile,
  offsetInFile: number,
  length: number,
  fail: (message: string) => Error,
): number {
  if (offsetInFile < 0 || length < 0 || offsetInFile + length > file.size) {
    throw fail(`range ${offsetInFile}+${length} is outside '${file.path}' (${file.size} bytes)`);
  }
  const extents = file.extents.length > 0 ? file.extents : [{ offset: file.offset, size: file.size }];
  let extentStart = 0;
  for (const extent of extents) {
    const extentEnd = extentStart + extent.size;
    if (offsetInFile < extentEnd || (length === 0 && offsetInFile === extentEnd)) {
      if (offsetInFile + length > extentEnd) {
        throw fail(`range ${offsetInFile}+${length} of '${file.path}' spans two extents`);
      }
      return extent.offset + (offsetInFile - extentStart);
    }
    extentStart = extentEnd;
  }
  throw fail(`range ${offsetInFile}+${length} is outside the extents of '${file.path}'`);
}

function parseIgnInfo(json: Buffer): IgnInfo {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new IgnitionAreaError(`${IGNINFO_PATH} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IgnitionAreaError(`${IGNINFO_PATH} is not a JSON object`);
  }
  const record = value as Record<string, unknown>;
  if (typeof record.file !== 'string' || record.file.replace(/^\/+/, '') === '') {
    throw new IgnitionAreaError(`${IGNINFO_PATH} has no "file" string`);
  }
  return {
    file: record.file.replace(/^\/+/, ''),
    offset: optionalCount(record, 'offset', 0),
    length: optionalCount(record, 'length', 1),
  };
}

function optionalCount(record: Record<string, unknown>, key: string, minimum: number): number | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new IgnitionAreaError(
      `${IGNINFO_PATH} "${key}" must be an integer ≥ ${minimum}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
