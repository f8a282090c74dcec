import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixtureIso, missingFixtureTools, type FixtureArch, type FixtureIso } from '../fixtures/iso-fixture.js';
import { hasTool } from '../fixtures/iso-fixture-tools.js';
import { extractWithXorriso, findWithXorriso } from '../fixtures/xorriso.js';
import { buildMinimalTemplate, buildNmstateRamdisk, readIsoFileBytes, readIsoIndex } from '../../src/iso/index.js';
import type { CpuArchitecture } from '../../src/iso/index.js';
import { KARG_EMBED_MARKER, KARGS_JSON_PATH, resolveKargsAreas } from '../../src/iso/kargs.js';
import {
  bootInfoTable,
  bootPlatforms,
  elToritoEntries,
  hybridSignatures,
  isoinfoSummary,
  mbrPartitions,
  readBytes,
  xorrisoLba,
} from './boot-records.js';

type TemplateArch = Exclude<CpuArchitecture, 's390x'>;

const ARCHES: TemplateArch[] = ['x86_64', 'arm64', 'ppc64le'];
const missing = [
  ...(await missingFixtureTools({ arch: 'x86_64' })),
  ...((await hasTool('isoinfo')) ? [] : ['isoinfo']),
];
if (missing.length > 0) console.warn(`skipping minimal template tests: missing tools ${missing.join(', ')}`);

const ROOTFS_URL = 'https://image-service.example.com/boot-artifacts/rootfs?arch=x86_64&version=418.94.202501010000-0';
const RAMDISK = 'images/assisted_installer_custom.img';
const NMSTATE = 'images/nmstate.img';
const GRUB_PATH: Record<TemplateArch, string> = {
  x86_64: 'EFI/redhat/grub.cfg',
  arm64: 'EFI/redhat/grub.cfg',
  ppc64le: 'boot/grub/grub.cfg',
};
const EXPECTED_PLATFORMS: Record<TemplateArch, string[]> = {
  x86_64: ['BIOS', 'UEFI'],
  arm64: ['UEFI'],
  ppc64le: [],
};
/** Rewritten by El Torito replay (catalog, boot-info table) or by the template itself. */
const CHANGED_FILES = new Set([
  'isolinux/boot.cat',
  'boot.cat',
  'isolinux/isolinux.bin',
  'EFI/redhat/grub.cfg',
  'boot/grub/grub.cfg',
  'isolinux/isolinux.cfg',
  KARGS_JSON_PATH,
]);

let baseDir: string;
const fixtures = new Map<string, Promise<FixtureIso>>();

beforeAll(async () => {
  baseDir = await mkdtemp(path.join(os.tmpdir(), 'minimal-template-'));
});

afterAll(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

/** One full ISO per layout, shared by the templates built from it. */
function fullIso(arch: FixtureArch, kargsJson: boolean): Promise<FixtureIso> {
  const key = `${arch}-${kargsJson}`;
  let fixture = fixtures.get(key);
  if (fixture === undefined) {
    fixture = buildFixtureIso({ outPath: path.join(baseDir, `full-${key}.iso`), arch, kargsJson });
    fixtures.set(key, fixture);
  }
  return fixture;
}

/** The kernel arguments the edit should leave in the area: coreos.liveiso dropped, the rootfs URL appended. */
function expectedDefaultKargs(fixture: FixtureIso): string {
  const kept = fixture.defaultKargs.split(' ').filter((arg) => !arg.startsWith('coreos.liveiso='));
  return [...kept, `coreos.live.rootfs_url="${ROOTFS_URL}"`].join(' ');
}

interface KargsJsonShape {
  default: string;
  size: number;
  files: { path: string; offset: number }[];
}

describe.each(ARCHES)('buildMinimalTemplate for %s', (arch) => {
  describe.each([true, false])('with kargs.json %s', (kargsJson) => {
    describe.each([false, true])('with nmstate.img %s', (withNmstate) => {
      const nmstateImage = withNmstate ? buildNmstateRamdisk(randomBytes(20_000)) : undefined;
      let full: FixtureIso;
      let template: string;

      beforeAll(async () => {
        full = await fullIso(arch, kargsJson);
        template = path.join(baseDir, `template-${arch}-${kargsJson}-${withNmstate}.iso`);
        const workDir = path.join(baseDir, `work-${arch}-${kargsJson}-${withNmstate}`);
        await buildMinimalTemplate({
          fullIsoPath: full.path,
          outputPath: template,
          workDir,
          arch,
          rootfsUrl: ROOTFS_URL,
          nmstateImage,
        });
        expect(await readdir(workDir)).toEqual([]);
      });

      it('drops rootfs.img, adds a 1 MiB zero ramdisk area (and nmstate.img) and keeps every other file', async () => {
        const sourceFiles = await findWithXorriso(full.path, 'f');
        const templateFiles = await findWithXorriso(template, 'f');
        expect(templateFiles).not.toContain('images/pxeboot/rootfs.img');
        const ramdisk = await extractWithXorriso(template, RAMDISK);
        expect(ramdisk.length).toBe(1024 * 1024);
        expect(ramdisk.every((byte) => byte === 0)).toBe(true);
        if (nmstateImage === undefined) expect(templateFiles).not.toContain(NMSTATE);
        else expect((await extractWithXorriso(template, NMSTATE)).equals(nmstateImage)).toBe(true);
        const added = [RAMDISK, ...(withNmstate ? [NMSTATE] : [])];
        const expected = [...sourceFiles.filter((file) => file !== 'images/pxeboot/rootfs.img'), ...added];
        expect([...templateFiles].sort()).toEqual(expected.sort());
        for (const file of sourceFiles.filter((name) => !CHANGED_FILES.has(name) && !name.endsWith('rootfs.img'))) {
          expect((await extractWithXorriso(template, file)).equals(await extractWithXorriso(full.path, file))).toBe(
            true,
          );
        }
      });

      it('keeps the volume ID, Joliet, the El Torito boot images and the hybrid MBR/GPT', async () => {
        const summary = await isoinfoSummary(template);
        expect(summary).toEqual(await isoinfoSummary(full.path));
        expect(summary).toEqual({ volumeId: full.volumeId, joliet: true, rockRidge: true });
        const entries = await elToritoEntries(template);
        expect(entries).toEqual(await elToritoEntries(full.path));
        expect(bootPlatforms(entries)).toEqual(EXPECTED_PLATFORMS[arch]);
        expect(await hybridSignatures(template)).toEqual(await hybridSignatures(full.path));
        const index = await readIsoIndex(template);
        expect(index.volumeId).toBe(full.volumeId);
      });

      (arch === 'x86_64' ? it : it.skip)(
        'points the MBR at efiboot.img and isolinux.bin where they now are, and patches the boot-info table',
        async () => {
          expect(await hybridSignatures(template)).toEqual({ mbr: true, gpt: true });
          const efiLba = await xorrisoLba(template, 'images/efiboot.img');
          const efiPartition = (await mbrPartitions(template)).find((partition) => partition.type === 0xef);
          expect(efiPartition?.start).toBe(efiLba * 4);
          const isolinuxLba = await xorrisoLba(template, 'isolinux/isolinux.bin');
          // isohybrid's MBR code loads isolinux.bin from the 512-byte sector recorded at byte 432.
          expect((await readBytes(template, 432, 4)).readUInt32LE(0)).toBe(isolinuxLba * 4);
          const size = (await extractWithXorriso(template, 'isolinux/isolinux.bin')).length;
          const table = await bootInfoTable(template, isolinuxLba, size);
          expect(table).toMatchObject({
            pvdLba: 16,
            fileLba: isolinuxLba,
            fileLength: size,
            checksum: table.expectedChecksum,
          });
        },
      );

      it('edits grub.cfg (and isolinux.cfg): rootfs URL, no coreos.liveiso, extra initrds', async () => {
        const initrds = [
          '/images/pxeboot/initrd.img',
          '/images/ignition.img',
          `/${RAMDISK}`,
          ...(withNmstate ? [`/${NMSTATE}`] : []),
        ];
        const grub = (await extractWithXorriso(template, GRUB_PATH[arch])).toString('utf8');
        expectEditedConfig(grub, full.files[GRUB_PATH[arch]]?.toString('utf8') ?? '');
        expect(grub).toMatch(
          new RegExp(`\\n\\s*linux /images/pxeboot/vmlinuz .*${escape(` coreos.live.rootfs_url="${ROOTFS_URL}"`)}\\n`),
        );
        expect(
          grub
            .split('\n')
            .filter((line) => /^\s*initrd /.test(line))
            .map((line) => line.trim()),
        ).toEqual([`initrd ${initrds.join(' ')}`]);
        if (arch !== 'x86_64') return;
        const isolinux = (await extractWithXorriso(template, 'isolinux/isolinux.cfg')).toString('utf8');
        expectEditedConfig(isolinux, full.files['isolinux/isolinux.cfg']?.toString('utf8') ?? '');
        const append = isolinux
          .split('\n')
          .filter((line) => /^\s*append /.test(line))
          .map((line) => line.trim());
        expect(append).toEqual([`append initrd=${initrds.join(',')} ${expectedDefaultKargs(full)}`]);
      });

      it(kargsJson ? 'rewrites kargs.json to match the edited files byte for byte' : 'adds no kargs.json', async () => {
        if (!kargsJson) {
          expect(await findWithXorriso(template, 'f')).not.toContain(KARGS_JSON_PATH);
          return;
        }
        const updated = JSON.parse(
          (await extractWithXorriso(template, KARGS_JSON_PATH)).toString('utf8'),
        ) as KargsJsonShape;
        const original = JSON.parse(full.files[KARGS_JSON_PATH]?.toString('utf8') ?? '{}') as KargsJsonShape;
        const expectedDefault = expectedDefaultKargs(full);
        expect(updated.default).toBe(expectedDefault);
        expect(updated.files.map((file) => file.path)).toEqual(original.files.map((file) => file.path));
        for (const entry of updated.files) {
          const content = (await extractWithXorriso(template, entry.path)).toString('latin1');
          const offset = content.indexOf(`${expectedDefault}\n`);
          expect(offset).toBeGreaterThan(0);
          expect(content.indexOf(expectedDefault, offset + 1)).toBe(-1);
          expect(entry.offset).toBe(offset);
          expect(updated.size).toBe(content.indexOf(KARG_EMBED_MARKER) - offset);
        }
        // The streaming path reads these areas back; it must accept them.
        const index = await readIsoIndex(template);
        const kargs = await readIsoFileBytes(template, index.require(KARGS_JSON_PATH));
        const areas = await resolveKargsAreas(index, kargs, (file) => readIsoFileBytes(template, file));
        expect(areas.map((area) => area.defaultKargs)).toEqual(updated.files.map(() => expectedDefault));
      });
    });
  });
});

/** Only the kernel and initrd lines differ from the source; the embed-area marker line is intact. */
function expectEditedConfig(edited: string, source: string): void {
  expect(edited).not.toMatch(/coreos\.liveiso=/);
  expect(edited).toMatch(/\n#+# COREOS_KARG_EMBED_AREA\n/);
  const editedLines = edited.split('\n');
  const sourceLines = source.split('\n');
  expect(editedLines.length).toBe(sourceLines.length);
  const kernelOrInitrd = /^\s*(linux|initrd|append)\s/;
  editedLines.forEach((line, index) => {
    if (!kernelOrInitrd.test(line)) expect(line).toBe(sourceLines[index]);
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
