/**
 * Keeps coreos/kargs.json true after the minimal-ISO boot-menu edits. The edits shift the
 * kernel line (isolinux's initrd= list grows before the arguments) and change the default
 * arguments (coreos.liveiso dropped, coreos.live.rootfs_url added), so each area's offset, the
 * default and the size are read again from the edited files. The `#` padding is untouched, so
 * the area still ends at the `# COREOS_KARG_EMBED_AREA` marker.
 */
import { KARG_EMBED_AREA_PATTERN, KARGS_JSON_PATH, parseKargsJson } from './kargs-areas.js';

/** kargs.json cannot be made to match the edited boot configs. */
export class KargsJsonUpdateError extends Error {
  override readonly name = 'KargsJsonUpdateError';
}

type RawKargsJson = Record<string, unknown> & { files: Record<string, unknown>[] };

interface EditedArea {
  offset: number;
  defaultKargs: string;
  size: number;
}

/** Where a kernel line's arguments start: after `linux <kernel>` or `append [initrd=…]`. */
const KERNEL_LINE_PREFIXES = [
  /^\s*(?:linux|linuxefi|linux16)\s+\S+(?:\s+|$)/,
  /^\s*append\s+(?:initrd=\S+(?:\s+|$))?/i,
];

const LIVEISO_ARGUMENT = /^coreos\.liveiso=/;

/**
 * `kargsJson` is the original coreos/kargs.json; `editedFiles` maps each boot config path it
 * lists (leading slash optional) to the edited content. Returns the updated kargs.json; fields
 * this code does not know are kept.
 */
export function updateKargsJson(kargsJson: Buffer, editedFiles: Map<string, Buffer>): Buffer {
  const info = parseKargsJson(kargsJson);
  const files = new Map([...editedFiles].map(([path, content]) => [path.replace(/^\/+/, ''), content]));
  const areas = info.files.map((entry) => {
    const content = files.get(entry.path);
    if (content === undefined) {
      throw new KargsJsonUpdateError(`${KARGS_JSON_PATH} lists '${entry.path}' but its edited content was not given`);
    }
    const area = findEditedArea(entry.path, content);
    checkKeepsOriginalArguments(entry.path, info.default, area.defaultKargs);
    return area;
  });
  const original = JSON.parse(kargsJson.toString('utf8')) as RawKargsJson;
  const updated = {
    ...original,
    default: commonDefault(areas),
    // One size serves every file; a smaller one is safe where a file has more padding.
    size: Math.min(...areas.map((area) => area.size)),
    files: original.files.map((entry, index) => ({ ...entry, offset: areas[index]?.offset })),
  };
  return Buffer.from(`${JSON.stringify(updated, null, 2)}\n`, 'utf8');
}

/** kargs.json has one `default` for all files, so the edits must agree. */
function commonDefault(areas: EditedArea[]): string {
  const [first, ...rest] = areas;
  if (first === undefined) throw new KargsJsonUpdateError(`${KARGS_JSON_PATH} lists no files`);
  const mismatch = rest.find((area) => area.defaultKargs !== first.defaultKargs);
  if (mismatch !== undefined) {
    throw new KargsJsonUpdateError(
      'edited boot configs disagree on the kernel arguments: ' +
        `${JSON.stringify(first.defaultKargs)} vs ${JSON.stringify(mismatch.defaultKargs)}`,
    );
  }
  return first.defaultKargs;
}

function findEditedArea(path: string, content: Buffer): EditedArea {
  // latin1 maps each byte to one character, so string indexes are byte offsets.
  const text = content.toString('latin1');
  const match = KARG_EMBED_AREA_PATTERN.exec(text);
  if (match === null) {
    throw new KargsJsonUpdateError(`edited '${path}' has no karg embed area marker`);
  }
  const newline = match.index;
  const marker = newline + (match[1] ?? '').length;
  const lineStart = text.lastIndexOf('\n', newline - 1) + 1;
  const line = text.slice(lineStart, newline);
  const prefix = KERNEL_LINE_PREFIXES.map((pattern) => pattern.exec(line)).find((found) => found !== null);
  if (prefix === undefined) {
    throw new KargsJsonUpdateError(
      `in edited '${path}' the line before the karg embed area is not a kernel line: ${JSON.stringify(line.slice(0, 80))}`,
    );
  }
  const offset = lineStart + prefix[0].length;
  return { offset, defaultKargs: content.subarray(offset, newline).toString('utf8'), size: marker - offset };
}

/** Guards against a wrong start: the edit only drops coreos.liveiso and appends. */
function checkKeepsOriginalArguments(path: string, originalDefault: string, editedDefault: string): void {
  const kept = originalDefault.split(/\s+/).filter((arg) => arg !== '' && !LIVEISO_ARGUMENT.test(arg));
  const edited = editedDefault.split(/\s+/).filter((arg) => arg !== '');
  if (kept.some((arg, index) => edited[index] !== arg)) {
    throw new KargsJsonUpdateError(
      `in edited '${path}' the kernel arguments ${JSON.stringify(editedDefault)} ` +
        `do not start with the original ones ${JSON.stringify(kept.join(' '))}`,
    );
  }
}
