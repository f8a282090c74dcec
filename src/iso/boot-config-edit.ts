/**
 * Boot-menu edits for the minimal ISO template: the rootfs is fetched over HTTP instead of read
 * from the ISO (`coreos.live.rootfs_url`, and no `coreos.liveiso` check for it), and the
 * ramdisk placeholder (plus nmstate) is loaded as extra initrds.
 */
export { updateKargsJson } from './boot-config-edit-kargs.js';

export interface BootConfigEdit {
  /** Already checked with validateRootfsUrl (the edits check again). */
  rootfsUrl: string;
  /** ISO paths appended to the initrd list, e.g. '/images/assisted_installer_custom.img'. */
  extraInitrds: string[];
}

/** A boot config lacks the line an edit needs, or kargs.json cannot follow the edit. */
export class BootConfigEditError extends Error {
  override readonly name = 'BootConfigEditError';
}

export class InvalidRootfsUrlError extends Error {
  override readonly name = 'InvalidRootfsUrlError';
}

const GRUB_KERNEL_LINE = /^\s*(?:linux|linuxefi|linux16)\s+\S/;
const GRUB_INITRD_LINE = /^\s*(?:initrd|initrdefi|initrd16)\s+\S/;
const ISOLINUX_APPEND_LINE = /^\s*append\s+\S/i;
const ISOLINUX_INITRD_OPTION = /(^|\s)(initrd=\S+)/;
const LIVEISO_ARGUMENT = /[ \t]coreos\.liveiso=\S+/g;
const INITRD_PATH = /^\/[A-Za-z0-9._/-]+$/;

/**
 * The URL goes inside double quotes on GRUB's `linux` line, where `$` still expands a variable
 * and `\` escapes, and `"` would end the quotes; whitespace or control characters would split
 * the argument or the line. Returns the URL unchanged.
 */
export function validateRootfsUrl(url: string): string {
  const refuse = (reason: string): never => {
    throw new InvalidRootfsUrlError(`rootfs URL ${JSON.stringify(url)} ${reason}`);
  };
  if (!/^https?:\/\//i.test(url)) refuse('must start with http:// or https://');
  if (/[$\\"]/.test(url)) refuse('must not contain $, \\ or "');
  if (/[^\x21-\x7e]/.test(url)) refuse('must be printable ASCII without spaces');
  if (!URL.canParse(url)) refuse('is not a valid URL');
  return url;
}

/** Edits a GRUB config (`EFI/*\/grub.cfg`, `boot/grub/grub.cfg`). */
export function editGrubConfig(text: string, edit: BootConfigEdit): string {
  const { rootfsUrl, initrds } = checkedEdit(edit);
  let kernelLines = 0;
  let initrdLines = 0;
  const result = mapLines(text, (line) => {
    if (GRUB_KERNEL_LINE.test(line)) {
      kernelLines++;
      return `${line.replace(LIVEISO_ARGUMENT, '')} ${rootfsArgument(rootfsUrl)}`;
    }
    if (GRUB_INITRD_LINE.test(line)) {
      initrdLines++;
      return [line, ...initrds].join(' ');
    }
    return line;
  });
  requireEdited(kernelLines, 'a GRUB `linux` line');
  requireEdited(initrdLines, 'a GRUB `initrd` line');
  return result;
}

/** Edits isolinux/isolinux.cfg: the `append` line carries both the kernel arguments and `initrd=`. */
export function editIsolinuxConfig(text: string, edit: BootConfigEdit): string {
  const { rootfsUrl, initrds } = checkedEdit(edit);
  let initrdLines = 0;
  const result = mapLines(text, (line) => {
    if (!ISOLINUX_APPEND_LINE.test(line)) return line;
    let edited = `${line.replace(LIVEISO_ARGUMENT, '')} ${rootfsArgument(rootfsUrl)}`;
    if (ISOLINUX_INITRD_OPTION.test(edited)) {
      initrdLines++;
      edited = edited.replace(ISOLINUX_INITRD_OPTION, (_all, space: string, option: string) =>
        [`${space}${option}`, ...initrds].join(','),
      );
    }
    return edited;
  });
  requireEdited(initrdLines, 'an isolinux `append` line with initrd=');
  return result;
}

function rootfsArgument(url: string): string {
  return `coreos.live.rootfs_url="${url}"`;
}

function checkedEdit(edit: BootConfigEdit): { rootfsUrl: string; initrds: string[] } {
  for (const path of edit.extraInitrds) {
    if (!INITRD_PATH.test(path)) {
      throw new BootConfigEditError(
        `extra initrd ${JSON.stringify(path)} must be an absolute ISO path of [A-Za-z0-9._/-]`,
      );
    }
  }
  return { rootfsUrl: validateRootfsUrl(edit.rootfsUrl), initrds: edit.extraInitrds };
}

function requireEdited(count: number, what: string): void {
  if (count === 0) throw new BootConfigEditError(`boot config has no ${what} to edit`);
}

/** Applies `edit` to every line, keeping line endings (LF or CRLF) as they were. */
function mapLines(text: string, edit: (line: string) => string): string {
  return text
    .split('\n')
    .map((line) => (line.endsWith('\r') ? `${edit(line.slice(0, -1))}\r` : edit(line)))
    .join('\n');
}
