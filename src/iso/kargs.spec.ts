import { describe, it, expect } from '@jest/globals';
import { editGrubConfig, editIsolinuxConfig, updateKargsJson, BootConfigEditError } from './boot-config.js';
import type { IsoFile, IsoIndex } from './iso9660.js';
import {
  KargsAreaError,
  KargsNotSupportedError,
  KargsTooLongError,
  InvalidKernelArgumentsError,
  kargsPatches,
  parseKernelArguments,
  resolveKargsAreas,
  type KargsArea,
} from './kargs.js';

// Boot configs shaped like RHCOS live ISO ones, and kargs.json found by plain string search.
const RHCOS_DEFAULT_KARGS =
  'random.trust_cpu=on coreos.liveiso=rhcos-414.92.202310170514-0 ignition.firstboot ignition.platform.id=metal';
const RHCOS_AREA_SIZE = 1139;
const MARKER = '# COREOS_KARG_EMBED_AREA';

/** `size` bytes from the default's start to the marker: `<default>\n###…`, as coreos-assembler lays it out. */
function embedLine(defaultKargs: string, size: number): string {
  return '#'.repeat(size - defaultKargs.length - 1) + MARKER;
}

function rhcosGrubCfg(defaultKargs = RHCOS_DEFAULT_KARGS, size = RHCOS_AREA_SIZE): string {
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

function rhcosIsolinuxCfg(defaultKargs = RHCOS_DEFAULT_KARGS, size = RHCOS_AREA_SIZE): string {
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
function kargsJsonFor(
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

/** An in-memory IsoIndex: each file sits at the given absolute offset. */
function fakeIndex(files: Record<string, { offset: number; content: Buffer }>): {
  index: IsoIndex;
  readConfig: (file: IsoFile) => Promise<Buffer>;
} {
  const entries = new Map<string, IsoFile>();
  for (const [path, { offset, content }] of Object.entries(files)) {
    const size = content.length;
    entries.set(path, { path, offset, size, extents: [{ offset, size }], isDirectory: false, mtime: new Date(0) });
  }
  const get = (path: string): IsoFile | undefined => entries.get(path.replace(/^\/+/, ''));
  const index: IsoIndex = {
    volumeId: 'rhcos-fake',
    blockSize: 2048,
    volumeSpaceSize: 0,
    hasJolietTree: false,
    get,
    require: (path) => {
      const file = get(path);
      if (file === undefined) throw new Error(`no ${path}`);
      return file;
    },
    files: () => [...entries.values()],
  };
  const readConfig = async (file: IsoFile): Promise<Buffer> => files[file.path]?.content ?? Buffer.alloc(0);
  return { index, readConfig };
}

const GRUB = 'EFI/redhat/grub.cfg';
const ISOLINUX = 'isolinux/isolinux.cfg';
const grubText = rhcosGrubCfg();
const isolinuxText = rhcosIsolinuxCfg();

const append = (value: unknown): { operation: string; value: unknown } => ({ operation: 'append', value });
const json = (value: unknown): string => JSON.stringify(value);

describe('parseKernelArguments', () => {
  it('returns the appended values in order', () => {
    expect(parseKernelArguments(json([append('p1'), append('key=value')]))).toEqual(['p1', 'key=value']);
  });

  it.each([
    ['an empty array', '[]'],
    ['null', 'null'],
    ['an empty string', ''],
    ['whitespace', '  \n'],
  ])('treats %s as no arguments', (_name, input) => {
    expect(parseKernelArguments(input)).toEqual([]);
  });

  it.each([
    'rd.net.timeout.carrier=60',
    'isolcpus=1,2,10-20,100-2000:2/25',
    'quiet',
    'ip=192.168.1.10::192.168.1.1:255.255.255.0:host1:ens3:none',
    'ip=[fd00::10]::[fd00::1]:64:host1:ens3:none',
    'console=ttyS0,115200n8',
    'foo="a b"',
    '"foo=a b"',
    'coreos.inst.ignition_url="http://h/p?a=1&b=2;c"',
    'x=a#b',
    'x="#notacomment"',
    'x=~`!@%^*()-_+[]:,./?',
  ])('accepts %s', (value) => {
    expect(parseKernelArguments(json([append(value)]))).toEqual([value]);
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['not JSON', '[{"operation":', /not valid JSON/],
    ['a JSON object', json(append('x')), /must be a JSON array/],
    ['a JSON string', json('quiet'), /must be a JSON array/],
    ['an item that is not an object', json(['quiet']), /kernel_arguments\[0\] is not an/],
    [
      'operation replace',
      json([append('a'), { operation: 'replace', value: 'x' }]),
      /kernel_arguments\[1\]: operation "replace".*only "append"/,
    ],
    ['operation delete', json([{ operation: 'delete', value: 'x' }]), /operation "delete"/],
    ['a missing operation', json([{ value: 'x' }]), /operation undefined/],
    ['a numeric value', json([append(5)]), /value must be a string/],
    ['a missing value', json([{ operation: 'append' }]), /value must be a string/],
    ['an empty value', json([append('')]), /is empty/],
    ['a newline', json([append('a\nb')]), /a newline/],
    ['a carriage return', json([append('a\rb')]), /a carriage return/],
    ['a NUL byte', json([append('a\u0000b')]), /a NUL byte/],
    ['a tab', json([append('a\tb')]), /a tab/],
    ['another control character', json([append('a\u001bb')]), /control character U\+001B/],
    ['DEL', json([append('a\u007fb')]), /control character U\+007F/],
    ['non-ASCII', json([append('name=Zoë')]), /non-ASCII/],
    ['a dollar sign', json([append('a=$root')]), /'\$'/],
    ['a dollar sign in quotes', json([append('a="$root"')]), /'\$'/],
    ['a backslash', json([append('a=b\\c')]), /'\\'/],
    ['a single quote', json([append("a='b c'")]), /single quote/],
    ['an unquoted space', json([append('a b')]), /space outside double quotes/],
    ['an unpaired double quote', json([append('a="b')]), /unpaired double quote/],
    ['an unquoted semicolon', json([append('a;reboot')]), /';'.*GRUB script operator/],
    ['an unquoted ampersand', json([append('url=http://h/?a=1&b=2')]), /'&'/],
    ['an unquoted pipe', json([append('a|b')]), /'\|'/],
    ['an unquoted brace', json([append('a}')]), /'\}'/],
    ['an unquoted angle bracket', json([append('a>b')]), /'>'/],
    ['a leading #', json([append('#comment')]), /starts with '#'/],
  ];

  it.each(invalid)('rejects %s', (_name, input, message) => {
    expect(() => parseKernelArguments(input)).toThrow(InvalidKernelArgumentsError);
    expect(() => parseKernelArguments(input)).toThrow(message);
  });
});

describe('kargsPatches argument check', () => {
  it('accepts a plain argument and rejects a newline', () => {
    const area: KargsArea = { path: GRUB, fileOffset: 0, offset: 0, size: 64, defaultKargs: '', end: '\n', pad: '#' };
    expect(() => kargsPatches([area], ['quiet'])).not.toThrow();
    expect(() => kargsPatches([area], ['quiet\ninitrd /evil'])).toThrow(InvalidKernelArgumentsError);
  });
});

describe('resolveKargsAreas checks', () => {
  const files = { [GRUB]: grubText, [ISOLINUX]: isolinuxText };
  const { index, readConfig } = fakeIndex({
    [GRUB]: { offset: 40_960, content: Buffer.from(grubText) },
    [ISOLINUX]: { offset: 81_920, content: Buffer.from(isolinuxText) },
  });
  const grubOffset = grubText.indexOf(RHCOS_DEFAULT_KARGS);
  const kargsJson = (info: Record<string, unknown>): Buffer =>
    Buffer.from(
      JSON.stringify({
        default: RHCOS_DEFAULT_KARGS,
        size: RHCOS_AREA_SIZE,
        files: [{ path: GRUB, offset: grubOffset }],
        ...info,
      }),
    );

  it('defaults end to a newline and pad to #, and accepts a smaller size than the padding', async () => {
    const [area] = await resolveKargsAreas(index, kargsJson({ size: RHCOS_AREA_SIZE - 10 }), readConfig);
    expect(area).toEqual({
      path: GRUB,
      fileOffset: grubOffset,
      offset: 40_960 + grubOffset,
      size: RHCOS_AREA_SIZE - 10,
      defaultKargs: RHCOS_DEFAULT_KARGS,
      end: '\n',
      pad: '#',
    });
  });

  const bad: Array<[string, Buffer, RegExp]> = [
    [
      'an offset one byte off',
      kargsJson({ files: [{ path: GRUB, offset: grubOffset + 1 }] }),
      /expected the default kernel arguments/,
    ],
    ['a different default', kargsJson({ default: 'quiet' }), /expected the default kernel arguments/],
    ['a size running into the marker', kargsJson({ size: RHCOS_AREA_SIZE + 2 }), /padding/],
    ['a size past the end of the file', kargsJson({ size: grubText.length }), /past the end of the file/],
    [
      'a wrong end character',
      kargsJson({ files: [{ path: GRUB, offset: grubOffset, end: ' ' }] }),
      /not followed by " "/,
    ],
    [
      'a missing file',
      kargsJson({ files: [{ path: 'EFI/fedora/grub.cfg', offset: 0 }] }),
      /EFI\/fedora\/grub\.cfg.*not in the ISO/,
    ],
    ['bad JSON', Buffer.from('{"default":'), /not valid JSON/],
    ['no files', kargsJson({ files: [] }), /"files"/],
    ['a default larger than the size', kargsJson({ size: 10 }), /does not fit/],
    ['a negative offset', kargsJson({ files: [{ path: GRUB, offset: -5 }] }), /"offset"/],
    ['a two-character pad', kargsJson({ files: [{ path: GRUB, offset: grubOffset, pad: '##' }] }), /"pad"/],
  ];

  it.each(bad)('rejects kargs.json with %s', async (_name, json, message) => {
    await expect(resolveKargsAreas(index, json, readConfig)).rejects.toThrow(KargsAreaError);
    await expect(resolveKargsAreas(index, json, readConfig)).rejects.toThrow(message);
  });

  it('rejects a boot config without the marker when there is no kargs.json', async () => {
    const noMarker = fakeIndex({
      [GRUB]: { offset: 0, content: Buffer.from(grubText.replace(MARKER, '# something else')) },
    });
    await expect(resolveKargsAreas(noMarker.index, undefined, noMarker.readConfig)).rejects.toThrow(
      /no # COREOS_KARG_EMBED_AREA marker/,
    );
  });

  it('finds no areas when neither default boot config exists', async () => {
    const empty = fakeIndex({});
    expect(await resolveKargsAreas(empty.index, undefined, empty.readConfig)).toEqual([]);
  });

  it('builds a kargs.json area list for both files', async () => {
    expect(await resolveKargsAreas(index, kargsJsonFor(files), readConfig)).toHaveLength(2);
  });
});

describe('kargsPatches', () => {
  const area: KargsArea = {
    path: GRUB,
    fileOffset: 100,
    offset: 5000,
    size: 40,
    defaultKargs: 'quiet rw',
    end: '\n',
    pad: '#',
  };

  it('writes <default> <extra…>\\n then pads, exactly size bytes', () => {
    const [patch] = kargsPatches([area], ['a=1', 'b']);
    expect(patch?.offset).toBe(5000);
    expect(patch?.data.toString('ascii')).toBe(`quiet rw a=1 b\n${'#'.repeat(40 - 15)}`);
  });

  it('writes " <extra>\\n###" over a marker-found area', () => {
    const marker: KargsArea = { ...area, defaultKargs: '', size: 12 };
    expect(kargsPatches([marker], ['ab', 'cd'])[0]?.data.toString('ascii')).toBe(' ab cd\n#####');
  });

  it('returns no patches without extra arguments', () => {
    expect(kargsPatches([area], [])).toEqual([]);
    expect(kargsPatches([], [])).toEqual([]);
  });

  it('accepts arguments that fill the area exactly and refuses one byte more', () => {
    const fits = 'x'.repeat(40 - 'quiet rw '.length - 1);
    expect(kargsPatches([area], [fits])[0]?.data.toString('ascii')).toBe(`quiet rw ${fits}\n`);
    expect(() => kargsPatches([area], [`${fits}y`])).toThrow(KargsTooLongError);
    expect(() => kargsPatches([area], [`${fits}y`])).toThrow(/need 41 bytes.*has 40/);
  });

  it('refuses extra arguments when the ISO has no area', () => {
    expect(() => kargsPatches([], ['quiet'])).toThrow(KargsNotSupportedError);
  });

  it('refuses arguments that would break the boot config', () => {
    expect(() => kargsPatches([area], ['a\ninitrd /x'])).toThrow(InvalidKernelArgumentsError);
  });

  it('reports a too-long RHCOS area with both sizes', () => {
    const rhcos: KargsArea = { ...area, size: RHCOS_AREA_SIZE, defaultKargs: RHCOS_DEFAULT_KARGS };
    const huge = 'a'.repeat(RHCOS_AREA_SIZE);
    const needed = RHCOS_DEFAULT_KARGS.length + 1 + huge.length + 1;
    expect(() => kargsPatches([rhcos], [huge])).toThrow(
      `kernel arguments need ${needed} bytes but the embed area in '${GRUB}' has ${RHCOS_AREA_SIZE}`,
    );
  });
});

const ROOTFS = 'http://10.0.0.5:8080/boot-artifacts/rootfs?arch=x86_64&version=414.92.202310170514-0';
const EDIT = { rootfsUrl: ROOTFS, extraInitrds: ['/images/assisted_installer_custom.img', '/images/nmstate.img'] };
// What the template's kernel arguments must become, written out by hand.
const EXPECTED_DEFAULT = `random.trust_cpu=on ignition.firstboot ignition.platform.id=metal coreos.live.rootfs_url="${ROOTFS}"`;

const originalGrub = rhcosGrubCfg();
const originalIsolinux = rhcosIsolinuxCfg();
const originalKargsJson = kargsJsonFor({ [GRUB]: originalGrub, [ISOLINUX]: originalIsolinux });
const editedGrub = editGrubConfig(originalGrub, EDIT);
const editedIsolinux = editIsolinuxConfig(originalIsolinux, EDIT);
const edited = new Map([
  [GRUB, Buffer.from(editedGrub)],
  [`/${ISOLINUX}`, Buffer.from(editedIsolinux)],
]);

interface KargsJson {
  default: string;
  size: number;
  files: Array<{ path: string; offset: number; end: string; pad: string }>;
}

describe('updateKargsJson', () => {
  const updated = JSON.parse(updateKargsJson(originalKargsJson, edited).toString('utf8')) as KargsJson;

  it('takes the edited kernel arguments as the new default', () => {
    expect(updated.default).toBe(EXPECTED_DEFAULT);
  });

  it.each([
    [GRUB, editedGrub],
    [ISOLINUX, editedIsolinux],
  ])('points %s at the edited kernel arguments and up to the marker', (filePath, text) => {
    const entry = updated.files.find((f) => f.path === filePath);
    const offset = text.indexOf(` ${EXPECTED_DEFAULT}\n`) + 1;
    expect(offset).toBeGreaterThan(0);
    expect(entry?.offset).toBe(offset);
    expect(updated.size).toBe(text.indexOf(MARKER) - offset);
    expect(text.slice(offset + updated.size)).toMatch(/^# COREOS_KARG_EMBED_AREA\n/);
    expect(entry).toMatchObject({ end: '\n', pad: '#' });
  });

  it('shifts the isolinux offset by the longer initrd list', () => {
    const original = JSON.parse(originalKargsJson.toString('utf8')) as KargsJson;
    const shift = ',/images/assisted_installer_custom.img,/images/nmstate.img'.length;
    expect(updated.files[1]?.offset).toBe((original.files[1]?.offset ?? NaN) + shift);
    expect(updated.files[0]?.offset).toBe(original.files[0]?.offset);
  });

  it('yields areas that resolveKargsAreas verifies and kargsPatches fills', async () => {
    const { index, readConfig } = fakeIndex({
      [GRUB]: { offset: 2048 * 40, content: Buffer.from(editedGrub) },
      [ISOLINUX]: { offset: 2048 * 60, content: Buffer.from(editedIsolinux) },
    });
    const areas = await resolveKargsAreas(index, updateKargsJson(originalKargsJson, edited), readConfig);
    const [patch] = kargsPatches(areas.slice(0, 1), ['ip=dhcp']);
    const fileOffset = (patch?.offset ?? NaN) - 2048 * 40;
    const patched = Buffer.from(editedGrub);
    patch?.data.copy(patched, fileOffset);
    const lines = patched.toString().split('\n');
    const kernel = lines.findIndex((line) => line.startsWith('\tlinux '));
    expect(lines[kernel]).toBe(`\tlinux /images/pxeboot/vmlinuz ${EXPECTED_DEFAULT} ip=dhcp`);
    expect(lines[kernel + 1]).toMatch(/^#+ COREOS_KARG_EMBED_AREA$/);
    expect(patched.length).toBe(editedGrub.length);
  });

  it('keeps fields it does not know', () => {
    const json = JSON.parse(originalKargsJson.toString('utf8')) as Record<string, unknown>;
    const withExtra = Buffer.from(JSON.stringify({ ...json, note: 'kept' }));
    expect(JSON.parse(updateKargsJson(withExtra, edited).toString('utf8'))).toMatchObject({ note: 'kept' });
  });

  it('fails when an edited file is missing', () => {
    expect(() => updateKargsJson(originalKargsJson, new Map([[GRUB, Buffer.from(editedGrub)]]))).toThrow(
      /isolinux\/isolinux\.cfg.*not given/,
    );
  });

  it('fails when an edited file has no marker', () => {
    const broken = new Map(edited).set(GRUB, Buffer.from(editedGrub.replace(MARKER, '# gone')));
    expect(() => updateKargsJson(originalKargsJson, broken)).toThrow(BootConfigEditError);
  });

  it('fails when the line before the marker is not a kernel line', () => {
    const moved = editedGrub.replace(/\n(#+ COREOS_KARG_EMBED_AREA)/, '\n\tset x=1\n$1');
    expect(() => updateKargsJson(originalKargsJson, new Map(edited).set(GRUB, Buffer.from(moved)))).toThrow(
      /not a kernel line/,
    );
  });

  it('fails when the files disagree on the kernel arguments', () => {
    const other = editGrubConfig(originalGrub, { ...EDIT, rootfsUrl: 'http://elsewhere/rootfs' });
    expect(() => updateKargsJson(originalKargsJson, new Map(edited).set(GRUB, Buffer.from(other)))).toThrow(/disagree/);
  });

  it('fails when the edit lost an original argument', () => {
    const lost = editedGrub.replace(' ignition.firstboot', '');
    expect(() => updateKargsJson(originalKargsJson, new Map(edited).set(GRUB, Buffer.from(lost)))).toThrow(
      /do not start with the original/,
    );
  });

  it('checks the original kargs.json', () => {
    expect(() => updateKargsJson(Buffer.from('not json'), edited)).toThrow(/not valid JSON/);
  });
});
