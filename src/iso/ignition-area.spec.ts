import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readIsoIndex } from './iso9660.js';
import { IgnitionAreaError, IgnitionTooLargeError, ignitionPatches, resolveIgnitionArea } from './ignition-area.js';
import { buildIgnitionPayload } from './ignition-payload.js';
import {
  applyPatchesToFile,
  buildTestIso,
  fakeIndex,
  makeTempDir,
  run,
  xorrisoExtract,
  xorrisoFileOffsets,
} from './ignition-area.test-helpers.js';

const AREA = 256 * 1024;
const CDBOOT_AREA_OFFSET = 123_456;
const CDBOOT_SIZE = CDBOOT_AREA_OFFSET + AREA + 789;

let workDir: string;
let isoPath: string;
let offsets: Map<string, { offset: number; size: number }>;

beforeAll(async () => {
  workDir = await makeTempDir('ignition-area-');
  const cdboot = Buffer.alloc(CDBOOT_SIZE, 0xaa);
  cdboot.fill(0, CDBOOT_AREA_OFFSET, CDBOOT_AREA_OFFSET + AREA);
  isoPath = await buildTestIso(workDir, {
    'images/ignition.img': Buffer.alloc(AREA),
    'images/cdboot.img': cdboot,
    'images/pxeboot/initrd.img': Buffer.from('initrd'),
  });
  offsets = await xorrisoFileOffsets(isoPath);
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('resolveIgnitionArea on a real ISO', () => {
  it('uses all of images/ignition.img when there is no igninfo.json', async () => {
    const area = resolveIgnitionArea(await readIsoIndex(isoPath), undefined);
    expect(area).toEqual({
      file: 'images/ignition.img',
      offset: offsets.get('images/ignition.img')?.offset,
      length: AREA,
    });
  });

  it.each([
    ['file only', { file: 'images/ignition.img' }],
    ['a leading slash', { file: '/images/ignition.img' }],
    ['explicit offset 0 and length', { file: 'images/ignition.img', offset: 0, length: AREA }],
  ])('follows igninfo.json with %s', async (_name, info) => {
    const area = resolveIgnitionArea(await readIsoIndex(isoPath), json(info));
    expect(area).toEqual({
      file: 'images/ignition.img',
      offset: offsets.get('images/ignition.img')?.offset,
      length: AREA,
    });
  });

  it('follows an s390x igninfo.json pointing inside images/cdboot.img', async () => {
    const info = { file: 'images/cdboot.img', offset: CDBOOT_AREA_OFFSET, length: AREA };
    const area = resolveIgnitionArea(await readIsoIndex(isoPath), json(info));
    expect(area.offset).toBe((offsets.get('images/cdboot.img')?.offset ?? NaN) + CDBOOT_AREA_OFFSET);
    expect(area.length).toBe(AREA);
  });

  it('defaults the length to the rest of the file after the offset', async () => {
    const area = resolveIgnitionArea(await readIsoIndex(isoPath), json({ file: 'images/cdboot.img', offset: 1000 }));
    expect(area.length).toBe(CDBOOT_SIZE - 1000);
  });

  it('embeds a payload that the system tools read back from the patched ISO', async () => {
    const patchedIso = path.join(workDir, 'patched.iso');
    await copyFile(isoPath, patchedIso);
    const config = Buffer.from('{"ignition":{"version":"3.2.0"},"storage":{"files":[]}}');
    const area = resolveIgnitionArea(await readIsoIndex(patchedIso), undefined);
    await applyPatchesToFile(patchedIso, ignitionPatches(area, await buildIgnitionPayload(config)));

    const image = await xorrisoExtract(patchedIso, 'images/ignition.img', workDir);
    expect(image.length).toBe(AREA);
    const imagePath = path.join(workDir, 'ignition.img');
    await writeFile(imagePath, image);
    const { stdout: archive } = await run('gzip', ['-dc', imagePath]);
    const archivePath = path.join(workDir, 'ignition.cpio');
    await writeFile(archivePath, archive);
    const { stdout: extracted } = await run('cpio', ['-i', '--to-stdout', '-F', archivePath, 'config.ign']);
    expect(extracted.equals(config)).toBe(true);
    // Neighbouring files are untouched.
    expect((await xorrisoExtract(patchedIso, 'images/pxeboot/initrd.img', workDir)).toString()).toBe('initrd');
  });
});

describe('resolveIgnitionArea errors', () => {
  const { index } = fakeIndex({ 'images/ignition.img': { offset: 40_960, content: Buffer.alloc(AREA) } });
  const bad: Array<[string, Buffer | undefined, RegExp]> = [
    ['a missing named file', json({ file: 'images/nope.img' }), /images\/nope\.img.*not in the ISO/],
    ['an offset past the end', json({ file: 'images/ignition.img', offset: AREA + 1 }), /past the end/],
    ['offset + length past the end', json({ file: 'images/ignition.img', offset: 10, length: AREA }), /outside/],
    ['a length past the end', json({ file: 'images/ignition.img', length: AREA + 1 }), /outside/],
    ['an empty area', json({ file: 'images/ignition.img', offset: AREA }), /empty/],
    ['bad JSON', Buffer.from('{"file": '), /not valid JSON/],
    ['a JSON array', json(['images/ignition.img']), /not a JSON object/],
    ['no file', json({ offset: 0 }), /no "file"/],
    ['a negative offset', json({ file: 'images/ignition.img', offset: -1 }), /"offset"/],
    ['a fractional length', json({ file: 'images/ignition.img', length: 1.5 }), /"length"/],
    ['a string offset', json({ file: 'images/ignition.img', offset: '0' }), /"offset"/],
  ];

  it.each(bad)('rejects %s', (_name, igninfo, message) => {
    expect(() => resolveIgnitionArea(index, igninfo)).toThrow(IgnitionAreaError);
    expect(() => resolveIgnitionArea(index, igninfo)).toThrow(message);
  });

  it('rejects an ISO without igninfo.json and without images/ignition.img', () => {
    expect(() => resolveIgnitionArea(fakeIndex({}).index, undefined)).toThrow(IgnitionAreaError);
  });

  it('rejects an area spanning two extents of a multi-extent file', () => {
    const { index: multi } = fakeIndex({ 'images/cdboot.img': { offset: 0, content: Buffer.alloc(8192) } });
    const file = multi.require('images/cdboot.img');
    file.extents = [
      { offset: 10_240, size: 4096 },
      { offset: 40_960, size: 4096 },
    ];
    expect(() => resolveIgnitionArea(multi, json({ file: 'images/cdboot.img', offset: 4000, length: 200 }))).toThrow(
      /spans two extents/,
    );
    expect(resolveIgnitionArea(multi, json({ file: 'images/cdboot.img', offset: 4096, length: 100 })).offset).toBe(
      40_960,
    );
    expect(resolveIgnitionArea(multi, json({ file: 'images/cdboot.img', offset: 100, length: 100 })).offset).toBe(
      10_340,
    );
  });
});

describe('ignitionPatches', () => {
  const area = { file: 'images/ignition.img', offset: 40_960, length: 1024 };

  it("writes the payload itself, then a zero-fill to the end of the area (no buffer of the area's size)", () => {
    const payload = Buffer.alloc(100, 7);
    expect(ignitionPatches(area, payload)).toEqual([
      { offset: 40_960, data: payload },
      { offset: 41_060, zeros: 924 },
    ]);
    expect((ignitionPatches(area, payload)[0] as { data: Buffer }).data).toBe(payload);
  });

  it('accepts a payload exactly the size of the area, with no zero-fill', () => {
    const payload = Buffer.alloc(1024, 1);
    expect(ignitionPatches(area, payload)).toEqual([{ offset: 40_960, data: payload }]);
  });

  it('refuses a payload larger than the area, naming both sizes', () => {
    expect(() => ignitionPatches(area, Buffer.alloc(1025))).toThrow(IgnitionTooLargeError);
    expect(() => ignitionPatches(area, Buffer.alloc(1025))).toThrow(
      /Ignition payload is 1025 bytes, larger than the ISO's 1024-byte Ignition area/,
    );
  });
});
