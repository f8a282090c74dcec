import { describe, it, expect } from '@jest/globals';
import { editGrubConfig, editIsolinuxConfig, updateKargsJson } from './boot-config-edit.js';
import { KargsJsonUpdateError } from './boot-config-edit-kargs.js';
import { kargsPatches, resolveKargsAreas } from './kargs.js';
import { fakeIndex } from './ignition-area.test-helpers.js';
import { MARKER, kargsJsonFor, rhcosGrubCfg, rhcosIsolinuxCfg } from './kargs.test-helpers.js';

const GRUB = 'EFI/redhat/grub.cfg';
const ISOLINUX = 'isolinux/isolinux.cfg';
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
    expect(() => updateKargsJson(originalKargsJson, broken)).toThrow(KargsJsonUpdateError);
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
