/** Test-only boot configs shaped like RHCOS live ISO ones, and kargs.json found by plain string search. */

export const RHCOS_DEFAULT_KARGS =
  'random.trust_cpu=on coreos.liveiso=rhcos-414.92.202310170514-0 ignition.firstboot ignition.platform.id=metal';
export const RHCOS_AREA_SIZE = 1139;
export const MARKER = '# COREOS_KARG_EMBED_AREA';

/** `size` bytes from the default's start to the marker: `<default>\n###…`, as coreos-assembler lays it out. */
function embedLine(defaultKargs: string, size: number): string {
  return '#'.repeat(size - defaultKargs.length - 1) + MARKER;
}

export function rhcosGrubCfg(defaultKargs = RHCOS_DEFAULT_KARGS, size = RHCOS_AREA_SIZE): string {
  return [
    'set default="1"',
    '',
    'function load_video {',
    '  insmod efi_gop',
    '  insmod efi_uga',
    '}',
    '',
    'set timeout=5',
    '### END /etc/grub.d/00_header ###',
    '',
    "menuentry 'RHEL CoreOS (Live)' --class fedora --class gnu-linux --class gnu --class os {",
    `\tlinux /images/pxeboot/vmlinuz ${defaultKargs}`,
    embedLine(defaultKargs, size),
    '\tinitrd /images/pxeboot/initrd.img /images/ignition.img',
    '}',
    '',
  ].join('\n');
}

export function rhcosIsolinuxCfg(defaultKargs = RHCOS_DEFAULT_KARGS, size = RHCOS_AREA_SIZE): string {
  return [
    'serial 0',
    'default vesamenu.c32',
    'timeout 600',
    'menu title RHEL CoreOS',
    '',
    'label linux',
    '  menu label ^RHEL CoreOS (Live)',
    '  menu default',
    '  kernel /images/pxeboot/vmlinuz',
    `  append initrd=/images/pxeboot/initrd.img,/images/ignition.img ${defaultKargs}`,
    embedLine(defaultKargs, size),
    '',
    'menu separator # insert an empty line',
    '',
    'label local',
    '  menu label Boot from ^local drive',
    '  localboot 0xffff',
    '',
  ].join('\n');
}

/** kargs.json for `files` (path → content), each offset found with indexOf. */
export function kargsJsonFor(
  files: Record<string, string>,
  defaultKargs = RHCOS_DEFAULT_KARGS,
  size = RHCOS_AREA_SIZE,
): Buffer {
  const entries = Object.entries(files).map(([path, text]) => {
    const offset = text.indexOf(` ${defaultKargs}\n`) + 1;
    if (offset === 0) throw new Error(`test fixture: default kargs not in ${path}`);
    return { path, offset, end: '\n', pad: '#' };
  });
  return Buffer.from(JSON.stringify({ default: defaultKargs, files: entries, size }), 'utf8');
}
