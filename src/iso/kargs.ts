/**
 * Kernel arguments: the embed areas of a live ISO's boot menus, the rule an extra argument must follow, and the
 * patches that write `<default> <extra…><end><pad…>` over each area, same length, so every other byte stays put.
 * An area runs from the default arguments on the kernel line to the `# COREOS_KARG_EMBED_AREA` marker (see
 * docs/live-iso.md); `coreos/kargs.json` describes the areas, older ISOs are searched for the marker.
 */
import { absoluteOffset, parseJsonObject, regularFile, type IsoFile, type IsoIndex } from './iso9660.js';
import type { Patch } from './virtual-file.js';

export const KARGS_JSON_PATH = 'coreos/kargs.json';
export const KARG_EMBED_MARKER = '# COREOS_KARG_EMBED_AREA';
/** Without kargs.json, the area is the kernel line's newline plus the pads before the marker. */
export const KARG_EMBED_AREA_PATTERN = /(\n#*)# COREOS_KARG_EMBED_AREA/;
const DEFAULT_KARGS_FILES = ['EFI/redhat/grub.cfg', 'isolinux/isolinux.cfg'];
const GRUB_OPERATORS = new Set(['{', '}', '|', '&', ';', '<', '>']);
const CONTROLS = new Map([
  ['\n', 'a newline'],
  ['\r', 'a carriage return'],
  ['\t', 'a tab'],
  ['\0', 'a NUL byte'],
]);

/**
 * `path`: the boot config, no leading slash; `fileOffset` in it, `offset` in the ISO. `defaultKargs` are the arguments
 * already in the area: '' for an area found by the marker, which starts at the newline.
 */
export interface KargsArea {
  path: string;
  fileOffset: number;
  offset: number;
  size: number;
  defaultKargs: string;
  end: string;
  pad: string;
}

type KargsFileInfo = { path: string; offset: number; end: string; pad: string };
type KargsInfo = { default: string; size: number; files: KargsFileInfo[] };

/** kargs.json is malformed, or an area it names (or the marker) is not where it should be. */
export class KargsAreaError extends Error {
  override readonly name = 'KargsAreaError';
}

/** kernel_arguments is not a JSON array of valid `{"operation": "append", "value": …}` items. */
export class InvalidKernelArgumentsError extends Error {
  override readonly name = 'InvalidKernelArgumentsError';
}

/** Extra kernel arguments were asked for an image that has nowhere to put them. */
export class KargsNotSupportedError extends Error {
  override readonly name = 'KargsNotSupportedError';
}

/** The extra arguments (plus the line end) need more bytes than an area has. */
export class KargsTooLongError extends Error {
  override readonly name = 'KargsTooLongError';
}

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
function verifyArea(text: string, info: KargsInfo, entry: KargsFileInfo): void {
  const fail = (problem: string): never => {
    throw new KargsAreaError(`${KARGS_JSON_PATH} area in '${entry.path}' at offset ${entry.offset}: ${problem}`);
  };
  const defaultText = Buffer.from(info.default, 'utf8').toString('latin1');
  const areaEnd = entry.offset + info.size;
  if (areaEnd > text.length) fail(`${info.size} bytes run past the end of the file (${text.length} bytes)`);
  if (!text.startsWith(defaultText, entry.offset)) {
    const found = Buffer.from(text.slice(entry.offset, entry.offset + Math.min(defaultText.length, 80)), 'latin1');
    fail(`expected the default kernel arguments, found ${JSON.stringify(found.toString('utf8'))}`);
  }
  let position = entry.offset + defaultText.length;
  if (text[position] !== entry.end) fail(`default kernel arguments are not followed by ${JSON.stringify(entry.end)}`);
  for (position += 1; position < areaEnd; position++) {
    if (text[position] !== entry.pad) fail(`expected ${JSON.stringify(entry.pad)} padding at file offset ${position}`);
  }
  // A `size` shorter than this file's padding is safe (the rest is padding already): allow more pads.
  while (!text.startsWith(KARG_EMBED_MARKER, position) && text[position] === entry.pad) position++;
  if (!text.startsWith(KARG_EMBED_MARKER, position)) fail(`the area is not followed by '${KARG_EMBED_MARKER}'`);
}

/** Parses and checks coreos/kargs.json: `{default, size, files: [{path, offset, end?, pad?}]}`. */
export function parseKargsJson(json: Buffer): KargsInfo {
  const fail = (problem: string): never => {
    throw new KargsAreaError(`${KARGS_JSON_PATH} ${problem}`);
  };
  const record = parseJsonObject(json, KARGS_JSON_PATH, (message) => new KargsAreaError(message));
  const { default: defaultKargs, size, files } = record;
  if (typeof defaultKargs !== 'string') return fail('has no "default" string');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
    return fail(`"size" must be a positive integer, got ${JSON.stringify(size)}`);
  }
  if (Buffer.byteLength(defaultKargs, 'utf8') + 1 > size) fail(`"default" does not fit its ${size}-byte area`);
  if (!Array.isArray(files) || files.length === 0) return fail('"files" must be a non-empty array');
  return { default: defaultKargs, size, files: files.map(parseFileEntry) };
}

function parseFileEntry(entry: unknown, index: number): KargsFileInfo {
  const fail = (problem: string): never => {
    throw new KargsAreaError(`${KARGS_JSON_PATH} files[${index}] ${problem}`);
  };
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail('is not an object');
  const { path, offset, end, pad } = entry as Record<string, unknown>;
  if (typeof path !== 'string' || path.replace(/^\/+/, '') === '') return fail('has no "path" string');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    return fail(`"offset" must be a non-negative integer, got ${JSON.stringify(offset)}`);
  }
  const character = (value: unknown, fallback: string, what: string): string => {
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'string' && /^[\x20-\x7e\n]$/.test(value)) return value;
    return fail(`"${what}" must be one printable ASCII character or a newline, got ${JSON.stringify(value)}`);
  };
  return { path: path.replace(/^\/+/, ''), offset, end: character(end, '\n', 'end'), pad: character(pad, '#', 'pad') };
}

/**
 * One patch per area writing `extra` after the default arguments; none without extra arguments. An area found by the
 * marker has no default (it starts at the newline), so it gets ` <extra>\n###…`.
 */
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

/**
 * Parses assisted-service's `kernel_arguments` (a JSON array such as `[{"operation":"append","value":"p1"}]`) into
 * the values, in order. A blank string or `null` means none.
 */
export function parseKernelArguments(json: string): string[] {
  if (json.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new InvalidKernelArgumentsError(`kernel_arguments is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) {
    throw new InvalidKernelArgumentsError('kernel_arguments must be a JSON array of {operation, value} objects');
  }
  return parsed.map((item: unknown, index) => {
    const fail = (message: string): never => {
      throw new InvalidKernelArgumentsError(`kernel_arguments[${index}]${message}`);
    };
    if (typeof item !== 'object' || item === null || Array.isArray(item)) fail(' is not an {operation, value} object');
    const { operation, value } = item as Record<string, unknown>;
    if (operation !== 'append') fail(`: operation ${JSON.stringify(operation)} is not supported; only "append" is`);
    if (typeof value !== 'string') return fail(': value must be a string');
    const problem = kernelArgumentProblem(value);
    return problem === undefined ? value : fail(`: value ${JSON.stringify(value)} ${problem}`);
  });
}

/**
 * Why `value` may not be written to the boot menus, or undefined when it may. It lands on GRUB's `linux` line (read
 * by GRUB's shell-like lexer) and on isolinux's `append` line (taken verbatim), and must mean the same to both:
 * printable ASCII; never `$` (GRUB expands it even inside double quotes), `\` (a GRUB escape) or `'` (GRUB strips it,
 * isolinux keeps it); double quotes paired, spaces only inside them (as assisted-service allows `foo="a b"`); outside
 * them none of GRUB's operators `{ } | & ; < >`; no leading `#`, which GRUB reads as a comment.
 */
function kernelArgumentProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.startsWith('#')) return "starts with '#' (GRUB would read the rest of the line as a comment)";
  let inQuotes = false;
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) {
      return `contains ${CONTROLS.get(char) ?? `control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`}`;
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
