/** The minimal ISO template's boot-menu and kargs.json edits (see "The minimal ISO template" in docs/live-iso.md). */
import { IsoError, readIsoFileBytes, regularFile, type IsoFile, type IsoIndex } from './iso9660.js';
import { KARG_EMBED_AREA_PATTERN, KARGS_JSON_PATH, parseKargsJson } from './kargs.js';

export type BootConfigEdit = { rootfsUrl: string; extraInitrds: string[] };
export type TemplateFile = { isoPath: string; content: Buffer; mode: number };

/** A boot config lacks the line an edit needs, or kargs.json cannot follow the edit. */
export class BootConfigEditError extends IsoError {}
export class InvalidRootfsUrlError extends IsoError {}

/** What a rationalised Rock Ridge tree (mkisofs -r) gives files; used when the source has no mode. */
export const DEFAULT_FILE_MODE = 0o444;
/** Every one present is edited, so that no boot path keeps the old menu. */
const GRUB_CONFIG_PATHS = ['EFI/redhat/grub.cfg', 'EFI/fedora/grub.cfg', 'EFI/centos/grub.cfg', 'boot/grub/grub.cfg'];
const GRUB_KERNEL_LINE = /^\s*(?:linux|linuxefi|linux16)\s+\S/;
const GRUB_INITRD_LINE = /^\s*(?:initrd|initrdefi|initrd16)\s+\S/;
const ISOLINUX_APPEND_LINE = /^\s*append\s+\S/i;
const ISOLINUX_INITRD_OPTION = /(?:^|\s)initrd=\S+/;
const LIVEISO_ARGUMENT = /[ \t]coreos\.liveiso=\S+/g;
/** Where a kernel line's arguments start: after `linux <kernel>` or `append [initrd=…]`. */
const KERNEL_LINE_PREFIXES = [
  /^\s*(?:linux|linuxefi|linux16)\s+\S+(?:\s+|$)/,
  /^\s*append\s+(?:initrd=\S+(?:\s+|$))?/i,
];

export async function editBootConfigs(isoPath: string, index: IsoIndex, edit: BootConfigEdit): Promise<TemplateFile[]> {
  const editFile = async (file: IsoFile, change: (text: string) => string): Promise<TemplateFile> => {
    // latin1 maps bytes to characters one to one, so bytes the edits do not touch come back unchanged.
    const text = (await readIsoFileBytes(isoPath, file)).toString('latin1');
    const mode = file.mode === undefined ? DEFAULT_FILE_MODE : file.mode & 0o7777;
    return { isoPath: file.path, content: Buffer.from(change(text), 'latin1'), mode };
  };
  const grubFiles = GRUB_CONFIG_PATHS.flatMap((path) => regularFile(index, path) ?? []);
  if (grubFiles.length === 0) {
    const paths = GRUB_CONFIG_PATHS.join(', ');
    throw new BootConfigEditError(`ISO image ${index.volumeId} has no grub.cfg (looked for ${paths})`);
  }
  const files: TemplateFile[] = [];
  for (const file of grubFiles) files.push(await editFile(file, (text) => editGrubConfig(text, edit)));
  const isolinux = regularFile(index, 'isolinux/isolinux.cfg');
  if (isolinux !== undefined) files.push(await editFile(isolinux, (text) => editIsolinuxConfig(text, edit)));
  const kargsJson = regularFile(index, KARGS_JSON_PATH);
  if (kargsJson === undefined) return files;
  const edited = new Map(files.map((file) => [file.isoPath, file.content]));
  const update = (text: string): string => updateKargsJson(Buffer.from(text, 'latin1'), edited).toString('latin1');
  return [...files, await editFile(kargsJson, update)];
}

/** The URL goes in double quotes on GRUB's `linux` line, where `$`, `\` and `"` still act and whitespace splits. */
export function validateRootfsUrl(url: string): string {
  const refuse = (reason: string): Error => new InvalidRootfsUrlError(`rootfs URL ${JSON.stringify(url)} ${reason}`);
  if (!/^https?:\/\//i.test(url)) throw refuse('must start with http:// or https://');
  if (/[$\\"]/.test(url)) throw refuse('must not contain $, \\ or "');
  if (/[^\x21-\x7e]/.test(url)) throw refuse('must be printable ASCII without spaces');
  if (!URL.canParse(url)) throw refuse('is not a valid URL');
  return url;
}

export function editGrubConfig(text: string, edit: BootConfigEdit): string {
  const { rootfsUrl, initrds } = checkedEdit(edit);
  const hasLine = (pattern: RegExp): boolean => text.split('\n').some((line) => pattern.test(line));
  requireEdited(hasLine(GRUB_KERNEL_LINE), 'a GRUB `linux` line');
  requireEdited(hasLine(GRUB_INITRD_LINE), 'a GRUB `initrd` line');
  return mapLines(text, (line) => {
    if (GRUB_KERNEL_LINE.test(line))
      return `${line.replace(LIVEISO_ARGUMENT, '')} coreos.live.rootfs_url="${rootfsUrl}"`;
    return GRUB_INITRD_LINE.test(line) ? [line, ...initrds].join(' ') : line;
  });
}

/** Edits isolinux/isolinux.cfg: its `append` line carries both the kernel arguments and `initrd=`. */
export function editIsolinuxConfig(text: string, edit: BootConfigEdit): string {
  const { rootfsUrl, initrds } = checkedEdit(edit);
  let initrdLines = 0;
  const result = mapLines(text, (line) => {
    if (!ISOLINUX_APPEND_LINE.test(line)) return line;
    const edited = `${line.replace(LIVEISO_ARGUMENT, '')} coreos.live.rootfs_url="${rootfsUrl}"`;
    if (!ISOLINUX_INITRD_OPTION.test(edited)) return edited;
    initrdLines++;
    return edited.replace(ISOLINUX_INITRD_OPTION, (option) => [option, ...initrds].join(','));
  });
  requireEdited(initrdLines > 0, 'an isolinux `append` line with initrd=');
  return result;
}

function checkedEdit(edit: BootConfigEdit): { rootfsUrl: string; initrds: string[] } {
  const bad = edit.extraInitrds.find((path) => !/^\/[A-Za-z0-9._/-]+$/.test(path));
  const rule = 'must be an absolute ISO path of [A-Za-z0-9._/-]';
  if (bad !== undefined) throw new BootConfigEditError(`extra initrd ${JSON.stringify(bad)} ${rule}`);
  return { rootfsUrl: validateRootfsUrl(edit.rootfsUrl), initrds: edit.extraInitrds };
}

function requireEdited(found: boolean, what: string): void {
  if (!found) throw new BootConfigEditError(`boot config has no ${what} to edit`);
}

/** Applies `edit` to every line, keeping LF or CRLF line endings as they were. */
function mapLines(text: string, edit: (line: string) => string): string {
  const lines = text.split('\n');
  return lines.map((line) => (line.endsWith('\r') ? `${edit(line.slice(0, -1))}\r` : edit(line))).join('\n');
}

/** kargs.json for the edited boot configs (path → content): new offsets, `default` and `size`; the rest kept. */
export function updateKargsJson(kargsJson: Buffer, editedFiles: Map<string, Buffer>): Buffer {
  const info = parseKargsJson(kargsJson);
  const files = new Map([...editedFiles].map(([path, content]) => [path.replace(/^\/+/, ''), content]));
  const areas = info.files.map(({ path }) => {
    const content = files.get(path);
    if (content === undefined)
      throw new BootConfigEditError(`${KARGS_JSON_PATH} lists '${path}' but its edited content was not given`);
    const area = findEditedArea(path, content);
    // Guards against a wrong start: the edit only drops coreos.liveiso and appends.
    const kept = info.default.split(/\s+/).filter((arg) => arg !== '' && !arg.startsWith('coreos.liveiso='));
    const edited = area.defaultKargs.split(/\s+/).filter((arg) => arg !== '');
    const found = `the kernel arguments ${JSON.stringify(area.defaultKargs)}`;
    const wanted = `the original ones ${JSON.stringify(kept.join(' '))}`;
    if (kept.some((arg, index) => edited[index] !== arg))
      throw new BootConfigEditError(`in edited '${path}' ${found} do not start with ${wanted}`);
    return area;
  });
  // kargs.json has one `default` for all files, so the edits must agree.
  const first = areas[0];
  const mismatch = areas.find((area) => area.defaultKargs !== first?.defaultKargs);
  if (first === undefined || mismatch !== undefined) {
    const kargs = `${JSON.stringify(first?.defaultKargs)} vs ${JSON.stringify(mismatch?.defaultKargs)}`;
    throw new BootConfigEditError(`edited boot configs disagree on the kernel arguments: ${kargs}`);
  }
  const original = JSON.parse(kargsJson.toString('utf8')) as { files: Record<string, unknown>[] };
  const updated = {
    ...original,
    default: first.defaultKargs,
    // One size serves every file; a smaller one is safe where a file has more padding.
    size: Math.min(...areas.map((area) => area.size)),
    files: original.files.map((entry, index) => ({ ...entry, offset: areas[index]?.offset })),
  };
  return Buffer.from(`${JSON.stringify(updated, null, 2)}\n`, 'utf8');
}

function findEditedArea(path: string, content: Buffer): { offset: number; defaultKargs: string; size: number } {
  const text = content.toString('latin1');
  const match = KARG_EMBED_AREA_PATTERN.exec(text);
  if (match === null) throw new BootConfigEditError(`edited '${path}' has no karg embed area marker`);
  const lineStart = text.lastIndexOf('\n', match.index - 1) + 1;
  const line = text.slice(lineStart, match.index);
  const prefix = KERNEL_LINE_PREFIXES.map((pattern) => pattern.exec(line)).find((found) => found !== null);
  if (prefix === undefined) {
    const where = `in edited '${path}' the line before the karg embed area`;
    throw new BootConfigEditError(`${where} is not a kernel line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  const offset = lineStart + prefix[0].length;
  const size = match.index + (match[1] ?? '').length - offset;
  return { offset, defaultKargs: content.subarray(offset, match.index).toString('utf8'), size };
}
