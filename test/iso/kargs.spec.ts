import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { readIsoFileBytes, readIsoIndex, type IsoFile } from '../../src/iso/index.js';
import { kargsPatches, resolveKargsAreas, type KargsArea } from '../../src/iso/kargs.js';
import {
  MARKER,
  RHCOS_AREA_SIZE,
  RHCOS_DEFAULT_KARGS,
  kargsJsonFor,
  rhcosGrubCfg,
  rhcosIsolinuxCfg,
} from './rhcos-boot-configs.js';
import { applyPatchesToFile, buildTestIso, makeTempDir, xorrisoExtract, xorrisoFileOffsets } from './xorriso-iso.js';

const GRUB = 'EFI/redhat/grub.cfg';
const ISOLINUX = 'isolinux/isolinux.cfg';
const grubText = rhcosGrubCfg();
const isolinuxText = rhcosIsolinuxCfg();
const EXTRA = ['rd.net.timeout.carrier=60', 'ip=dhcp6', 'foo="a b"'];

let workDir: string;

beforeAll(async () => {
  workDir = await makeTempDir('kargs-');
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Checks a patched config line by line against what the original config predicts. */
function expectKernelLineWithExtra(original: string, patched: string, kernelLinePrefix: string): void {
  expect(patched.length).toBe(original.length);
  const originalLines = original.split('\n');
  const patchedLines = patched.split('\n');
  const kernelIndex = originalLines.findIndex((line) => line.startsWith(kernelLinePrefix));
  expect(kernelIndex).toBeGreaterThan(0);
  expect(patchedLines[kernelIndex]).toBe(`${originalLines[kernelIndex]} ${EXTRA.join(' ')}`);
  const markerLine = patchedLines[kernelIndex + 1] ?? '';
  expect(markerLine.endsWith(MARKER)).toBe(true);
  expect(/^#+ COREOS_KARG_EMBED_AREA$/.test(markerLine)).toBe(true);
  const untouched = (lines: string[]): string[] =>
    lines.filter((_line, i) => i !== kernelIndex && i !== kernelIndex + 1);
  expect(untouched(patchedLines)).toEqual(untouched(originalLines));
}

async function patchIsoAndCheck(files: Record<string, string>, withKargsJson: boolean): Promise<KargsArea[]> {
  const content: Record<string, string | Buffer> = { ...files, 'images/ignition.img': Buffer.alloc(4096) };
  if (withKargsJson) content['coreos/kargs.json'] = kargsJsonFor(files);
  const isoPath = await buildTestIso(workDir, content, `kargs-${withKargsJson}-${Object.keys(files).length}.iso`);
  const index = await readIsoIndex(isoPath);
  const kargsFile = index.get('coreos/kargs.json');
  const kargsJson = kargsFile ? await readIsoFileBytes(isoPath, kargsFile) : undefined;
  const areas = await resolveKargsAreas(index, kargsJson, (file: IsoFile) => readIsoFileBytes(isoPath, file));

  const offsets = await xorrisoFileOffsets(isoPath);
  for (const area of areas) {
    expect(area.offset).toBe((offsets.get(area.path)?.offset ?? NaN) + area.fileOffset);
  }
  const patchedIso = path.join(workDir, `patched-${path.basename(isoPath)}`);
  await copyFile(isoPath, patchedIso);
  await applyPatchesToFile(patchedIso, kargsPatches(areas, EXTRA));
  for (const [filePath, original] of Object.entries(files)) {
    const patched = (await xorrisoExtract(patchedIso, filePath, workDir)).toString('utf8');
    expectKernelLineWithExtra(original, patched, filePath === GRUB ? '\tlinux ' : '  append ');
  }
  return areas;
}

describe('kernel arguments embedded into a real ISO', () => {
  it('uses the kargs.json areas of grub.cfg and isolinux.cfg', async () => {
    const areas = await patchIsoAndCheck({ [GRUB]: grubText, [ISOLINUX]: isolinuxText }, true);
    expect(areas.map((a) => [a.path, a.size, a.defaultKargs])).toEqual([
      [GRUB, RHCOS_AREA_SIZE, RHCOS_DEFAULT_KARGS],
      [ISOLINUX, RHCOS_AREA_SIZE, RHCOS_DEFAULT_KARGS],
    ]);
    expect(areas[0]?.fileOffset).toBe(grubText.indexOf(RHCOS_DEFAULT_KARGS));
  });

  it('finds the areas by the marker when there is no kargs.json', async () => {
    const areas = await patchIsoAndCheck({ [GRUB]: grubText, [ISOLINUX]: isolinuxText }, false);
    const newline = grubText.indexOf(`${RHCOS_DEFAULT_KARGS}\n`) + RHCOS_DEFAULT_KARGS.length;
    expect(areas[0]).toMatchObject({
      path: GRUB,
      fileOffset: newline,
      size: RHCOS_AREA_SIZE - RHCOS_DEFAULT_KARGS.length,
      defaultKargs: '',
    });
    expect(areas).toHaveLength(2);
  });

  it('uses only the marker files that exist (no isolinux on ppc64le/arm64)', async () => {
    const areas = await patchIsoAndCheck({ [GRUB]: grubText }, false);
    expect(areas.map((a) => a.path)).toEqual([GRUB]);
  });
});
