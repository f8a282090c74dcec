/** Kernel arguments: the boot menus' embed areas (see docs/live-iso.md), the rule an extra one follows, the patches. */
import { IsoError, absoluteOffset, isJsonObject, parseJson, regularFile } from './iso9660.js';
import type { IsoFile, IsoIndex } from './iso9660.js';
import type { Patch } from './virtual-file.js';

export const KARGS_JSON_PATH = 'coreos/kargs.json';
export const KARG_EMBED_MARKER = '# COREOS_KARG_EMBED_AREA';
/** Without kargs.json, the area is the kernel line's newline plus the pads before the marker. */
export const KARG_EMBED_AREA_PATTERN = /(\n#*)# COREOS_KARG_EMBED_AREA/;
const DEFAULT_KARGS_FILES = ['EFI/redhat/grub.cfg', 'isolinux/isolinux.cfg'];
const GRUB_OPERATORS = new Set(['{', '}', '|', '&', ';', '<', '>']);
const CONTROLS = new Map(
  Object.entries({ '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', '\0': 'a NUL byte' }),
);

type KargsFileInfo = { path: string; offset: number; end: string; pad: string };
/** `fileOffset` is in the file at `path`, but `offset` in the ISO; `defaultKargs` is '' in a marker-found area. */
export type KargsArea = KargsFileInfo & { fileOffset: number; size: number; defaultKargs: string };
type KargsInfo = { default: string; size: number; files: KargsFileInfo[] };

/** kargs.json is malformed, or an area it names (or the marker) is not where it should be. */
export class KargsAreaError extends IsoError {}
export class InvalidKernelArgumentsError extends IsoError {}
export class KargsNotSupportedError extends IsoError {}
export class KargsTooLongError extends IsoError {}

/** `kargsJson` is coreos/kargs.json, or undefined when the ISO has none; `readConfig` reads a whole boot config. */
export async function resolveKargsAreas(
  index: IsoIndex,
  kargsJson: Buffer | undefined,
  readConfig: (file: IsoFile) => Promise<Buffer>,
): Promise<KargsArea[]> {
  const areas: KargsArea[] = [];
  const fail = (message: string): Error => new KargsAreaError(`kargs area: ${message}`);
  if (kargsJson === undefined) {
    for (const path of DEFAULT_KARGS_FILES) {
      const file = regularFile(index, path);
      if (file === undefined) continue;
      // latin1 maps each byte to one character, so string indexes are byte offsets.
      const match = KARG_EMBED_AREA_PATTERN.exec((await readConfig(file)).toString('latin1'));
      if (match === null) throw new KargsAreaError(`'${path}' has no ${KARG_EMBED_MARKER} marker`);
      const size = (match[1] ?? '').length;
      const offset = absoluteOffset(file, match.index, size, fail);
      areas.push({ path, fileOffset: match.index, offset, size, defaultKargs: '', end: '\n', pad: '#' });
    }
    return areas;
  }
  const info = parseKargsJson(kargsJson);
  for (const { path, offset: fileOffset, end, pad } of info.files) {
    const file = regularFile(index, path);
    if (file === undefined) throw new KargsAreaError(`${KARGS_JSON_PATH} names '${path}', which is not in the ISO`);
    verifyArea((await readConfig(file)).toString('latin1'), info, { path, offset: fileOffset, end, pad });
    const offset = absoluteOffset(file, fileOffset, info.size, fail);
    areas.push({ path, fileOffset, offset, size: info.size, defaultKargs: info.default, end, pad });
  }
  return areas;
}

/** Checks that the file holds `<default><end><pad>…` at the offset, then the marker. `text` is latin1. */
function verifyArea(text: string, info: KargsInfo, { path, offset, end, pad }: KargsFileInfo): void {
  const where = `${KARGS_JSON_PATH} area in '${path}' at offset ${offset}`;
  const fail = (problem: string): Error => new KargsAreaError(`${where}: ${problem}`);
  const defaultText = Buffer.from(info.default, 'utf8').toString('latin1');
  const areaEnd = offset + info.size;
  if (areaEnd > text.length) throw fail(`${info.size} bytes run past the end of the file (${text.length} bytes)`);
  if (!text.startsWith(defaultText, offset)) {
    const found = Buffer.from(text.slice(offset, offset + Math.min(defaultText.length, 80)), 'latin1');
    throw fail(`expected the default kernel arguments, found ${JSON.stringify(found.toString('utf8'))}`);
  }
  let position = offset + defaultText.length;
  if (text[position] !== end) throw fail(`default kernel arguments are not followed by ${JSON.stringify(end)}`);
  for (position += 1; position < areaEnd; position++) {
    if (text[position] !== pad) throw fail(`expected ${JSON.stringify(pad)} padding at file offset ${position}`);
  }
  // A `size` shorter than this file's padding is safe (the rest is padding already): allow more pads.
  while (!text.startsWith(KARG_EMBED_MARKER, position) && text[position] === pad) position++;
  if (!text.startsWith(KARG_EMBED_MARKER, position)) throw fail(`the area is not followed by '${KARG_EMBED_MARKER}'`);
}

/** Parses and checks coreos/kargs.json: `{default, size, files: [{path, offset, end?, pad?}]}`. */
export function parseKargsJson(json: Buffer): KargsInfo {
  const fail = (problem: string): Error => new KargsAreaError(`${KARGS_JSON_PATH} ${problem}`);
  const record = parseJson(json, KARGS_JSON_PATH, (message) => new KargsAreaError(message));
  if (!isJsonObject(record)) throw new KargsAreaError(`${KARGS_JSON_PATH} is not a JSON object`);
  const { default: defaultKargs, size, files } = record;
  if (typeof defaultKargs !== 'string') throw fail('has no "default" string');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1)
    throw fail(`"size" must be a positive integer, got ${JSON.stringify(size)}`);
  if (Buffer.byteLength(defaultKargs, 'utf8') + 1 > size) throw fail(`"default" does not fit its ${size}-byte area`);
  if (!Array.isArray(files) || files.length === 0) throw fail('"files" must be a non-empty array');
  return { default: defaultKargs, size, files: files.map(parseFileEntry) };
}

function parseFileEntry(entry: unknown, index: number): KargsFileInfo {
  const fail = (problem: string): Error => new KargsAreaError(`${KARGS_JSON_PATH} files[${index}] ${problem}`);
  if (!isJsonObject(entry)) throw fail('is not an object');
  const { path, offset, end, pad } = entry;
  if (typeof path !== 'string' || path.replace(/^\/+/, '') === '') throw fail('has no "path" string');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
    throw fail(`"offset" must be a non-negative integer, got ${JSON.stringify(offset)}`);
  const character = (value: unknown, fallback: string, what: string): string => {
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'string' && /^[\x20-\x7e\n]$/.test(value)) return value;
    throw fail(`"${what}" must be one printable ASCII character or a newline, got ${JSON.stringify(value)}`);
  };
  return { path: path.replace(/^\/+/, ''), offset, end: character(end, '\n', 'end'), pad: character(pad, '#', 'pad') };
}

/** One patch per area writing `extra` after the default arguments (` <extra>\n###…` in an area found by marker). */
export function kargsPatches(areas: readonly KargsArea[], extra: readonly string[], unavailable?: string): Patch[] {
  if (extra.length === 0) return [];
  const reason = unavailable ?? 'the image has no kernel-argument area';
  if (areas.length === 0) throw new KargsNotSupportedError(`cannot add kernel arguments: ${reason}`);
  for (const value of extra) {
    const problem = kernelArgumentProblem(value);
    if (problem) throw new InvalidKernelArgumentsError(`kernel argument ${JSON.stringify(value)} ${problem}`);
  }
  return areas.map((area) => {
    const text = Buffer.from(`${area.defaultKargs} ${extra.join(' ')}${area.end}`, 'utf8');
    const room = `the embed area in '${area.path}' has ${area.size}`;
    if (text.length > area.size) throw new KargsTooLongError(`kernel arguments need ${text.length} bytes but ${room}`);
    const data = Buffer.alloc(area.size, area.pad, 'utf8');
    text.copy(data);
    return { offset: area.offset, data };
  });
}

/** The values of assisted-service's `kernel_arguments` (`[{"operation":"append","value":"p1"}]`); '' or null: none. */
export function parseKernelArguments(json: string): string[] {
  if (json.trim() === '') return [];
  const parsed = parseJson(json, 'kernel_arguments', (message) => new InvalidKernelArgumentsError(message));
  if (parsed === null) return [];
  if (!Array.isArray(parsed))
    throw new InvalidKernelArgumentsError('kernel_arguments must be a JSON array of {operation, value} objects');
  return parsed.map((item: unknown, index) => {
    const fail = (message: string): Error => new InvalidKernelArgumentsError(`kernel_arguments[${index}]${message}`);
    if (!isJsonObject(item)) throw fail(' is not an {operation, value} object');
    const { operation, value } = item;
    if (operation !== 'append')
      throw fail(`: operation ${JSON.stringify(operation)} is not supported; only "append" is`);
    if (typeof value !== 'string') throw fail(': value must be a string');
    const problem = kernelArgumentProblem(value);
    if (problem !== undefined) throw fail(`: value ${JSON.stringify(value)} ${problem}`);
    return value;
  });
}

/**
 * Why `value` may not go on the boot menus: it must mean the same to GRUB's shell-like lexer and to isolinux, which
 * takes it verbatim. Spaces only in double quotes, as assisted-service allows `foo="a b"`.
 */
function kernelArgumentProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.startsWith('#')) return "starts with '#' (GRUB would read the rest of the line as a comment)";
  let inQuotes = false;
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) {
      const codePoint = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      return `contains ${CONTROLS.get(char) ?? `control character ${codePoint}`}`;
    }
    if (code > 0x7e) return 'contains a non-ASCII character';
    if (char === '$') return "contains '$' (GRUB would expand it as a variable)";
    if (char === '\\') return "contains '\\' (GRUB treats it as an escape)";
    if (char === "'") return 'contains a single quote (GRUB removes it, isolinux does not)';
    if (char === '"') inQuotes = !inQuotes;
    else if (!inQuotes && char === ' ') return 'contains a space outside double quotes (it would split the argument)';
    else if (!inQuotes && GRUB_OPERATORS.has(char))
      return `contains '${char}' outside double quotes (a GRUB script operator)`;
  }
  return inQuotes ? 'has an unpaired double quote' : undefined;
}
