import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, missingFixtureTools, type FixtureIso } from '../fixtures/iso-fixture.js';
import { listWithXorriso } from '../fixtures/xorriso.js';
import { IsoFormatError, readIsoIndex } from '../../src/iso/index.js';
import {
  rawRecords,
  readVolumeId,
  rootDirectoryLba,
  stageTree,
  writeBothEndian32,
  xorrisoMkisofs,
  type RawRecord,
} from './iso9660-raw.js';

const missing = await missingFixtureTools({ arch: 'ppc64le' });
if (missing.length > 0) console.warn(`skipping hostile ISO tests: missing tools ${missing.join(', ')}`);

const PVD = 16 * 2048;

describe('ISO 9660 reader on hostile input', () => {
  let work: string;
  let fixture: FixtureIso;
  let pristine: Buffer;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'iso9660-hostile-'));
    fixture = await buildFixtureIso({ outPath: path.join(work, 'pristine.iso'), arch: 'ppc64le' });
    pristine = await readFile(fixture.path);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  let counter = 0;
  async function writeVariant(bytes: Buffer): Promise<string> {
    const file = path.join(work, `variant-${counter++}.iso`);
    await writeFile(file, bytes);
    return file;
  }

  async function expectRejected(bytes: Buffer, message: RegExp): Promise<void> {
    const file = await writeVariant(bytes);
    const error: unknown = await readIsoIndex(file).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(IsoFormatError);
    expect((error as Error).message).toMatch(message);
  }

  function record(image: Buffer, isoName: string, dirLba = rootDirectoryLba(image)): RawRecord {
    const found = rawRecords(image, dirLba).find((entry) => entry.isoName === isoName);
    if (found === undefined) throw new Error(`no raw record ${isoName}`);
    return found;
  }

  describe.each([
    ['random bytes', () => randomBytes(1024 * 1024)],
    ['an HTML error page', () => Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>\n'.repeat(2000))],
    ['an empty file', () => Buffer.alloc(0)],
    ['zeros', () => Buffer.alloc(64 * 1024)],
  ])('%s', (_name, make) => {
    it('is not an ISO 9660 image', async () => {
      const file = await writeVariant(make());
      await expect(readIsoIndex(file)).rejects.toThrow(/not an ISO 9660 image: no primary volume descriptor/);
      await expect(readVolumeId(file)).rejects.toThrow(IsoFormatError);
    });
  });

  it('rejects a directory given as the image', async () => {
    await expect(readIsoIndex(work)).rejects.toThrow(IsoFormatError);
  });

  it('rejects images truncated anywhere', async () => {
    await expectRejected(pristine.subarray(0, PVD + 100), /no primary volume descriptor/);
    await expectRejected(pristine.subarray(0, 40 * 1024), /truncated/);
    await expectRejected(pristine.subarray(0, Math.floor(pristine.length / 2)), /truncated/);
    await expectRejected(pristine.subarray(0, pristine.length - 2048), /truncated/);
  });

  it('still reads the volume ID of a truncated download (descriptors only)', async () => {
    const file = await writeVariant(pristine.subarray(0, 40 * 1024));
    expect(await readVolumeId(file)).toBe(fixture.volumeId);
  });

  it('rejects a bad block size, a missing primary descriptor and an impossible volume size', async () => {
    const badBlock = Buffer.from(pristine);
    badBlock.writeUInt16LE(3000, PVD + 128);
    await expectRejected(badBlock, /invalid logical block size 3000/);
    const noPrimary = Buffer.from(pristine);
    noPrimary[PVD] = 0x42;
    await expectRejected(noPrimary, /no primary volume descriptor/);
    const huge = Buffer.from(pristine);
    writeBothEndian32(huge, PVD + 80, 0x7fffffff);
    await expectRejected(huge, /truncated ISO image/);
  });

  it('rejects a directory that points back at the root', async () => {
    const image = Buffer.from(pristine);
    writeBothEndian32(image, record(image, 'IMAGES').at + 2, rootDirectoryLba(image));
    await expectRejected(image, /directory cycle/);
  });

  it('rejects a record with an impossible length', async () => {
    const image = Buffer.from(pristine);
    image[record(image, 'COREOS').at] = 20;
    await expectRejected(image, /invalid length 20/);
  });

  it('rejects file data beyond the end of the file', async () => {
    const image = Buffer.from(pristine);
    const coreos = record(image, 'COREOS');
    const igninfo = rawRecords(image, coreos.lba).find((entry) => entry.isoName.startsWith('IGNINFO'));
    if (igninfo === undefined) throw new Error('no IGNINFO record');
    writeBothEndian32(image, igninfo.at + 2, 0x7fffff00);
    await expectRejected(image, /beyond the end of the file/);
  });

  it('rejects a System Use entry longer than its area', async () => {
    const image = Buffer.from(pristine);
    const coreos = record(image, 'COREOS');
    const nm = image.indexOf('NM', coreos.at + 33);
    expect(nm).toBeGreaterThan(coreos.at);
    expect(nm).toBeLessThan(coreos.at + coreos.length);
    image[nm + 2] = 250;
    await expectRejected(image, /malformed System Use entry "NM"/);
  });

  it('rejects a multi-extent file without a final extent', async () => {
    const image = Buffer.from(pristine);
    const records = rawRecords(image, rootDirectoryLba(image));
    const last = records[records.length - 1];
    if (last === undefined) throw new Error('empty root');
    image[last.at + 25] = (image[last.at + 25] ?? 0) | 0x80;
    await expectRejected(image, /has no final extent/);
  });

  it('stops following continuation areas that point at themselves', async () => {
    const tree = await stageTree(work, { [`${'x'.repeat(240)}.txt`]: 'x' });
    const image = await readFile(await xorrisoMkisofs(path.join(work, 'ce.iso'), tree, ['-R']));
    const long = rawRecords(image, rootDirectoryLba(image)).find((entry) => entry.isoName.startsWith('X'));
    if (long === undefined) throw new Error('no long-name record');
    const ce = image.indexOf('CE', long.at + 33);
    expect(ce).toBeLessThan(long.at + long.length);
    const area = image.readUInt32LE(ce + 4) * 2048 + image.readUInt32LE(ce + 12);
    // Make the continuation area a lone CE entry naming that same area.
    writeBothEndian32(image, ce + 20, 28);
    image.copy(image, area, ce, ce + 28);
    await expectRejected(image, /too many System Use continuation areas/);
  });

  it('never fails with anything but IsoFormatError, and never reports data outside the file', async () => {
    const firstData = Math.min(...(await listWithXorriso(fixture.path)).map((row) => row.lba)) * 2048;
    const mutation = fc.record({
      at: fc.integer({ min: PVD, max: firstData - 1 }),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), async (mutations) => {
        const image = Buffer.from(pristine);
        for (const { at, bytes } of mutations) image.set(bytes.subarray(0, image.length - at), at);
        const file = await writeVariant(image);
        try {
          const index = await readIsoIndex(file);
          for (const entry of index.files()) {
            // Empty files' extents hold no data, so where they point does not matter.
            for (const extent of entry.extents.filter((candidate) => candidate.size > 0)) {
              expect(extent.offset + extent.size).toBeLessThanOrEqual(image.length);
            }
          }
        } catch (error) {
          expect(error).toBeInstanceOf(IsoFormatError);
        } finally {
          await rm(file);
        }
      }),
      { numRuns: 300 },
    );
  });
});
