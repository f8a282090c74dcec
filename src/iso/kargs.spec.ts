import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { readIsoFileBytes, readIsoIndex } from './iso9660.js';
import type { IsoFile } from './iso9660-types.js';
import {
  KargsAreaError,
  KargsTooLongError,
  KargsUnsupportedError,
  InvalidKernelArgumentsError,
  kargsPatches,
  resolveKargsAreas,
  type KargsArea,
} from './kargs.js';
import {
  applyPatchesToFile,
  buildTestIso,
  fakeIndex,
  makeTempDir,
  xorrisoExtract,
  xorrisoFileOffsets,
} from './ignition-area.test-helpers.js';
import {
  MARKER,
  RHCOS_AREA_SIZE,
  RHCOS_DEFAULT_KARGS,
  kargsJsonFor,
  rhcosGrubCfg,
  rhcosIsolinuxCfg,
} from './kargs.test-helpers.js';

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
    expect(() => kargsPatches([], ['quiet'])).toThrow(KargsUnsupportedError);
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
