/**
 * Where kernel arguments can be embedded in a live ISO's boot menus. Each area starts where the
 * default arguments start on the kernel line and runs, through the newline and a run of `#`
 * padding, up to the `# COREOS_KARG_EMBED_AREA` marker:
 *
 *     linux /images/pxeboot/vmlinuz <default>\n#######…# COREOS_KARG_EMBED_AREA
 *                                   ^ offset                ^ offset + size
 *
 * `coreos/kargs.json` describes the areas; old ISOs without it are searched for the marker.
 */
import type { IsoFile, IsoIndex } from './iso9660-types.js';
import { absoluteOffset } from './ignition-area.js';

export const KARGS_JSON_PATH = 'coreos/kargs.json';
export const DEFAULT_KARGS_FILES = ['EFI/redhat/grub.cfg', 'isolinux/isolinux.cfg'];
export const KARG_EMBED_MARKER = '# COREOS_KARG_EMBED_AREA';
/** Without kargs.json, the area is the kernel line's newline plus the pads before the marker. */
export const KARG_EMBED_AREA_PATTERN = /(\n#*)# COREOS_KARG_EMBED_AREA/;

export interface KargsArea {
  /** The boot config file, no leading slash. */
  path: string;
  /** Offset of the area inside the config file. */
  fileOffset: number;
  /** Absolute offset of the area in the ISO. */
  offset: number;
  size: number;
  /** The kernel arguments already in the area; '' for an area found by the marker (it starts at the newline). */
  defaultKargs: string;
  end: string;
  pad: string;
}

/** kargs.json is malformed, or an area it names (or the marker) is not where it should be. */
export class KargsAreaError extends Error {
  override readonly name = 'KargsAreaError';
}

export interface KargsFileInfo {
  path: string;
  offset: number;
  end: string;
  pad: string;
}

export interface KargsInfo {
  default: string;
  size: number;
  files: KargsFileInfo[];
}

/**
 * `kargsJson` is the content of coreos/kargs.json, or undefined when the ISO has none.
 * `readConfig` returns the whole content of a boot config file in the ISO.
 */
export async function resolveKargsAreas(
  index: IsoIndex,
  kargsJson: Buffer | undefined,
  readConfig: (file: IsoFile) => Promise<Buffer>,
): Promise<KargsArea[]> {
  if (kargsJson === undefined) return resolveByMarker(index, readConfig);
  const info = parseKargsJson(kargsJson);
  const areas: KargsArea[] = [];
  for (const entry of info.files) {
    const file = requireConfigFile(index, entry.path);
    const content = await readConfig(file);
    verifyKargsJsonArea(content, info, entry);
    const offset = absoluteOffset(
      file,
      entry.offset,
      info.size,
      (message) => new KargsAreaError(`kargs area: ${message}`),
    );
    const { path, end, pad } = entry;
    areas.push({ path, fileOffset: entry.offset, offset, size: info.size, defaultKargs: info.default, end, pad });
  }
  return areas;
}

async function resolveByMarker(index: IsoIndex, readConfig: (file: IsoFile) => Promise<Buffer>): Promise<KargsArea[]> {
  const areas: KargsArea[] = [];
  for (const path of DEFAULT_KARGS_FILES) {
    const file = index.get(path);
    if (file === undefined || file.isDirectory) continue;
    const content = await readConfig(file);
    // latin1 maps each byte to one character, so string indexes are byte offsets.
    const match = KARG_EMBED_AREA_PATTERN.exec(content.toString('latin1'));
    if (match === null) {
      throw new KargsAreaError(`'${path}' has no ${KARG_EMBED_MARKER} marker`);
    }
    const size = (match[1] ?? '').length;
    const offset = absoluteOffset(file, match.index, size, (message) => new KargsAreaError(`kargs area: ${message}`));
    areas.push({ path, fileOffset: match.index, offset, size, defaultKargs: '', end: '\n', pad: '#' });
  }
  return areas;
}

function requireConfigFile(index: IsoIndex, path: string): IsoFile {
  const file = index.get(path);
  if (file === undefined || file.isDirectory) {
    throw new KargsAreaError(`${KARGS_JSON_PATH} names '${path}', which is not in the ISO`);
  }
  return file;
}

/** Checks the file really holds `<default><end><pad>…` at the offset, then the marker. */
export function verifyKargsJsonArea(content: Buffer, info: KargsInfo, entry: KargsFileInfo): void {
  const where = `${KARGS_JSON_PATH} area in '${entry.path}' at offset ${entry.offset}`;
  const defaultBytes = Buffer.from(info.default, 'utf8');
  const areaEnd = entry.offset + info.size;
  if (areaEnd > content.length) {
    throw new KargsAreaError(`${where}: ${info.size} bytes run past the end of the file (${content.length} bytes)`);
  }
  if (!content.subarray(entry.offset, entry.offset + defaultBytes.length).equals(defaultBytes)) {
    const found = content.subarray(entry.offset, entry.offset + Math.min(defaultBytes.length, 80)).toString('utf8');
    throw new KargsAreaError(`${where}: expected the default kernel arguments, found ${JSON.stringify(found)}`);
  }
  const text = content.toString('latin1');
  let position = entry.offset + defaultBytes.length;
  if (text[position] !== entry.end) {
    throw new KargsAreaError(`${where}: default kernel arguments are not followed by ${JSON.stringify(entry.end)}`);
  }
  for (position += 1; position < areaEnd; position++) {
    if (text[position] !== entry.pad) {
      throw new KargsAreaError(`${where}: expected ${JSON.stringify(entry.pad)} padding at file offset ${position}`);
    }
  }
  // A shorter `size` than this file's padding is safe (the rest is padding already), so allow
  // more pads before the marker.
  while (!text.startsWith(KARG_EMBED_MARKER, position) && text[position] === entry.pad) position++;
  if (!text.startsWith(KARG_EMBED_MARKER, position)) {
    throw new KargsAreaError(`${where}: the area is not followed by '${KARG_EMBED_MARKER}'`);
  }
}

/** Parses and checks coreos/kargs.json: `{default, size, files: [{path, offset, end?, pad?}]}`. */
export function parseKargsJson(json: Buffer): KargsInfo {
  const record = parseJsonObject(json);
  if (typeof record.default !== 'string') {
    throw new KargsAreaError(`${KARGS_JSON_PATH} has no "default" string`);
  }
  const size = record.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
    throw new KargsAreaError(`${KARGS_JSON_PATH} "size" must be a positive integer, got ${JSON.stringify(size)}`);
  }
  if (Buffer.byteLength(record.default, 'utf8') + 1 > size) {
    throw new KargsAreaError(`${KARGS_JSON_PATH} "default" does not fit its ${size}-byte area`);
  }
  if (!Array.isArray(record.files) || record.files.length === 0) {
    throw new KargsAreaError(`${KARGS_JSON_PATH} "files" must be a non-empty array`);
  }
  const files = record.files.map((entry: unknown, index) => parseFileEntry(entry, index));
  return { default: record.default, size, files };
}

function parseJsonObject(json: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new KargsAreaError(`${KARGS_JSON_PATH} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KargsAreaError(`${KARGS_JSON_PATH} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function parseFileEntry(entry: unknown, index: number): KargsFileInfo {
  const where = `${KARGS_JSON_PATH} files[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new KargsAreaError(`${where} is not an object`);
  }
  const { path, offset, end, pad } = entry as Record<string, unknown>;
  if (typeof path !== 'string' || path.replace(/^\/+/, '') === '') {
    throw new KargsAreaError(`${where} has no "path" string`);
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new KargsAreaError(`${where} "offset" must be a non-negative integer, got ${JSON.stringify(offset)}`);
  }
  return {
    path: path.replace(/^\/+/, ''),
    offset,
    end: singleCharacter(end, '\n', `${where} "end"`),
    pad: singleCharacter(pad, '#', `${where} "pad"`),
  };
}

function singleCharacter(value: unknown, fallback: string, what: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !/^[\x20-\x7e\n]$/.test(value)) {
    throw new KargsAreaError(
      `${what} must be one printable ASCII character or a newline, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
