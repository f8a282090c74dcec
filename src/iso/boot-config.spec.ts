import { describe, it, expect } from '@jest/globals';
import {
  BootConfigEditError,
  InvalidRootfsUrlError,
  editGrubConfig,
  editIsolinuxConfig,
  validateRootfsUrl,
} from './boot-config.js';

const URL_ = 'https://images.example.com/boot-artifacts/rootfs?arch=x86_64&version=414.92.202310170514-0';
const CUSTOM = '/images/assisted_installer_custom.img';
const NMSTATE = '/images/nmstate.img';
const LIVEISO = 'coreos.liveiso=rhcos-414.92.202310170514-0';

const grub = (kernelArgs: string, eol = '\n'): string =>
  [
    "menuentry 'RHEL CoreOS (Live)' --class fedora --class gnu-linux --class gnu --class os {",
    `\tlinux /images/pxeboot/vmlinuz ${kernelArgs}`,
    '############################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################# COREOS_KARG_EMBED_AREA',
    '\tinitrd /images/pxeboot/initrd.img /images/ignition.img',
    '}',
    '',
  ].join(eol);

const isolinux = (appendArgs: string): string =>
  [
    'label linux',
    '  menu label ^RHEL CoreOS (Live)',
    '  kernel /images/pxeboot/vmlinuz',
    `  append ${appendArgs}`,
    '######## COREOS_KARG_EMBED_AREA',
    '',
    'label local',
    '  localboot 0xffff',
    '',
  ].join('\n');

describe('editGrubConfig', () => {
  const cases: Array<[string, string, string[], string, string]> = [
    [
      'liveiso in the middle, ramdisk only',
      `random.trust_cpu=on ${LIVEISO} ignition.firstboot ignition.platform.id=metal`,
      [CUSTOM],
      `random.trust_cpu=on ignition.firstboot ignition.platform.id=metal coreos.live.rootfs_url="${URL_}"`,
      `/images/pxeboot/initrd.img /images/ignition.img ${CUSTOM}`,
    ],
    [
      'liveiso last, ramdisk and nmstate',
      `mitigations=auto,nosmt ignition.firstboot ${LIVEISO}`,
      [CUSTOM, NMSTATE],
      `mitigations=auto,nosmt ignition.firstboot coreos.live.rootfs_url="${URL_}"`,
      `/images/pxeboot/initrd.img /images/ignition.img ${CUSTOM} ${NMSTATE}`,
    ],
    [
      'no liveiso argument',
      'ignition.firstboot',
      [CUSTOM],
      `ignition.firstboot coreos.live.rootfs_url="${URL_}"`,
      `/images/pxeboot/initrd.img /images/ignition.img ${CUSTOM}`,
    ],
  ];

  it.each(cases)('edits a config with %s', (_name, args, initrds, expectedArgs, expectedInitrds) => {
    const original = grub(args);
    const lines = editGrubConfig(original, { rootfsUrl: URL_, extraInitrds: initrds }).split('\n');
    const originalLines = original.split('\n');
    expect(lines[1]).toBe(`\tlinux /images/pxeboot/vmlinuz ${expectedArgs}`);
    expect(lines[3]).toBe(`\tinitrd ${expectedInitrds}`);
    expect([lines[0], lines[2], lines[4], lines[5]]).toEqual([
      originalLines[0],
      originalLines[2],
      originalLines[4],
      originalLines[5],
    ]);
  });

  it('keeps CRLF line endings', () => {
    const edited = editGrubConfig(grub(`a ${LIVEISO}`, '\r\n'), { rootfsUrl: URL_, extraInitrds: [CUSTOM] });
    expect(edited.split('\r\n')[1]).toBe(`\tlinux /images/pxeboot/vmlinuz a coreos.live.rootfs_url="${URL_}"`);
    expect(edited.split('\r\n')[3]).toBe(`\tinitrd /images/pxeboot/initrd.img /images/ignition.img ${CUSTOM}`);
  });

  it('edits linuxefi/initrdefi lines too', () => {
    const edited = editGrubConfig('  linuxefi /vmlinuz a\n  initrdefi /initrd.img\n', {
      rootfsUrl: URL_,
      extraInitrds: [CUSTOM],
    });
    expect(edited).toBe(`  linuxefi /vmlinuz a coreos.live.rootfs_url="${URL_}"\n  initrdefi /initrd.img ${CUSTOM}\n`);
  });

  it.each([
    ['no linux line', '\tinitrd /images/pxeboot/initrd.img\n', /`linux` line/],
    ['no initrd line', '\tlinux /images/pxeboot/vmlinuz a\n', /`initrd` line/],
    ['a commented-out linux line only', '#\tlinux /vmlinuz a\n\tinitrd /initrd.img\n', /`linux` line/],
  ])('fails on a config with %s', (_name, text, message) => {
    expect(() => editGrubConfig(text, { rootfsUrl: URL_, extraInitrds: [CUSTOM] })).toThrow(BootConfigEditError);
    expect(() => editGrubConfig(text, { rootfsUrl: URL_, extraInitrds: [CUSTOM] })).toThrow(message);
  });

  it.each(['images/x.img', '/images/a b.img', '/images/a,b.img', '/images/$x'])(
    'refuses the extra initrd path %j',
    (bad) => {
      expect(() => editGrubConfig(grub('a'), { rootfsUrl: URL_, extraInitrds: [bad] })).toThrow(BootConfigEditError);
    },
  );

  it('refuses a bad rootfs URL', () => {
    expect(() => editGrubConfig(grub('a'), { rootfsUrl: 'http://x/$root', extraInitrds: [] })).toThrow(
      InvalidRootfsUrlError,
    );
  });
});

describe('editIsolinuxConfig', () => {
  it.each([
    [[CUSTOM], `initrd=/images/pxeboot/initrd.img,/images/ignition.img,${CUSTOM}`],
    [[CUSTOM, NMSTATE], `initrd=/images/pxeboot/initrd.img,/images/ignition.img,${CUSTOM},${NMSTATE}`],
  ])('extends the initrd list with %j and moves the rootfs to the URL', (initrds, expectedInitrd) => {
    const original = isolinux(
      `initrd=/images/pxeboot/initrd.img,/images/ignition.img random.trust_cpu=on ${LIVEISO} ignition.firstboot`,
    );
    const lines = editIsolinuxConfig(original, { rootfsUrl: URL_, extraInitrds: initrds }).split('\n');
    expect(lines[3]).toBe(
      `  append ${expectedInitrd} random.trust_cpu=on ignition.firstboot coreos.live.rootfs_url="${URL_}"`,
    );
    const others = (all: string[]): string[] => all.filter((_l, i) => i !== 3);
    expect(others(lines)).toEqual(others(original.split('\n')));
  });

  it('fails when no append line has initrd=', () => {
    expect(() => editIsolinuxConfig(isolinux('quiet'), { rootfsUrl: URL_, extraInitrds: [CUSTOM] })).toThrow(/initrd=/);
    expect(() =>
      editIsolinuxConfig('label x\n  kernel /vmlinuz\n', { rootfsUrl: URL_, extraInitrds: [CUSTOM] }),
    ).toThrow(BootConfigEditError);
  });
});

describe('validateRootfsUrl', () => {
  it.each([
    'http://10.0.0.1:8080/boot-artifacts/rootfs?arch=x86_64&version=4.14',
    'https://mirror.example.com/rhcos/rhcos-live-rootfs.x86_64.img',
    "https://h/a;b|c<d>e{f}g'h#frag",
  ])('accepts %s', (url) => {
    expect(validateRootfsUrl(url)).toBe(url);
  });

  it.each([
    ['a dollar sign', 'https://h/rootfs?x=$var', /\$/],
    ['a backslash', 'https://h/root\\fs', /\\/],
    ['a double quote', 'https://h/"rootfs"', /"/],
    ['a space', 'https://h/root fs', /printable ASCII/],
    ['a newline', 'https://h/rootfs\ninitrd /x', /printable ASCII/],
    ['non-ASCII', 'https://h/rootfs-ë', /printable ASCII/],
    ['ftp', 'ftp://h/rootfs', /http/],
    ['file', 'file:///data/rootfs.img', /http/],
    ['no scheme', 'h/rootfs', /http/],
    ['empty', '', /http/],
    ['no host', 'http://', /not a valid URL/],
  ])('refuses a URL with %s', (_name, url, message) => {
    expect(() => validateRootfsUrl(url)).toThrow(InvalidRootfsUrlError);
    expect(() => validateRootfsUrl(url)).toThrow(message);
  });
});
