import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, missingFixtureTools, type FixtureIso } from '../fixtures/iso-fixture.js';
import { missingTools, runTool } from '../fixtures/iso-fixture-tools.js';
import { extractWithXorriso } from '../fixtures/xorriso.js';
import { IsoFormatError, readIsoFileBytes, readIsoIndex, type IsoIndex } from '../../src/iso/index.js';
import {
  expectIndexMatchesXorriso,
  isoinfoDirectoryLbas,
  isoinfoVolume,
  readVolumeId,
  rawRecords,
  rootDirectoryLba,
  stageTree,
  xorrisoMkisofs,
} from './iso9660-raw.js';

const missing = [...(await missingFixtureTools()), ...(await missingTools(['isoinfo', 'genisoimage']))];
if (missing.length > 0) console.warn(`skipping ISO 9660 reader tests: missing tools ${missing.join(', ')}`);

const LONG_NAME = `${'Long'.repeat(60)}-Name.txt`; // 249 bytes: NM must continue in a CE area.
const NAMED_FILES = {
  'images/assisted_installer_custom.img': Buffer.alloc(64 * 1024, 1),
  'Mixed/CaseFile.Name.TXT': 'mixed case\n',
  README: 'no extension\n',
  [LONG_NAME]: 'long\n',
};

describe('ISO 9660 reader', () => {
  let work: string;
  let fixture: FixtureIso;
  let index: IsoIndex;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'iso9660-spec-'));
    fixture = await buildFixtureIso({
      outPath: path.join(work, 'fixture.iso'),
      extraFiles: {
        'images/assisted_installer_custom.img': Buffer.alloc(1024 * 1024),
        'Some Dir/Mixed.Case Name.cfg': 'x\n',
      },
    });
    index = await readIsoIndex(fixture.path);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  describe('on a CoreOS-like fixture', () => {
    it('finds every entry at the extent xorriso reports', async () => {
      await expectIndexMatchesXorriso(fixture.path, { index });
      expect(index.files().length).toBeGreaterThan(15);
    });

    it('finds the El Torito boot catalog where xorriso reports it', async () => {
      const { stdout } = await runTool('xorriso', ['-indev', fixture.path, '-report_el_torito', 'plain']);
      const lba = /El Torito catalog\s*:\s*(\d+)/.exec(stdout.toString())?.[1];
      expect(lba).toBeDefined();
      expect(index.require('isolinux/boot.cat').offset).toBe(Number(lba) * 2048);
    });

    it('places directories where isoinfo says', async () => {
      const lbas = await isoinfoDirectoryLbas(fixture.path);
      expect(lbas.size).toBeGreaterThan(4);
      for (const [dir, lba] of lbas) expect(index.require(dir).offset).toBe(lba * 2048);
    });

    it('reads the volume descriptor as isoinfo does', async () => {
      const volume = await isoinfoVolume(fixture.path);
      expect(index.volumeId).toBe(fixture.volumeId);
      expect(volume.volumeId).toBe(fixture.volumeId);
      expect(await readVolumeId(fixture.path)).toBe(volume.volumeId);
      expect(index.blockSize).toBe(volume.blockSize);
      expect(index.volumeSpaceSize).toBe(volume.blocks);
    });

    it('reads back every file the builder wrote', async () => {
      for (const [isoPath, contents] of Object.entries(fixture.files)) {
        expect((await readIsoFileBytes(fixture.path, index.require(isoPath))).equals(contents)).toBe(true);
      }
    });

    it('reads every file as xorriso extracts it', async () => {
      for (const file of index.files().filter((entry) => !entry.isDirectory)) {
        const ours = await readIsoFileBytes(fixture.path, file);
        expect(ours.equals(await extractWithXorriso(fixture.path, file.path))).toBe(true);
      }
    });

    it('looks paths up with or without a leading slash', () => {
      const file = index.require('images/pxeboot/rootfs.img');
      expect(index.get('/images/pxeboot/rootfs.img')).toBe(file);
      expect(index.get('images//pxeboot/rootfs.img/')).toBe(file);
      expect(index.get('Some Dir/Mixed.Case Name.cfg')?.size).toBe(2);
      expect(index.get('IMAGES/PXEBOOT/ROOTFS.IMG')).toBeUndefined(); // Rock Ridge names are case-sensitive.
      expect(index.get('/')?.isDirectory).toBe(true);
    });

    it('require names a missing path in an IsoFormatError', () => {
      expect(() => index.require('/images/nope.img')).toThrow(IsoFormatError);
      expect(() => index.require('/images/nope.img')).toThrow(/images\/nope\.img/);
    });

    it('refuses directories and files above maxBytes', async () => {
      await expect(readIsoFileBytes(fixture.path, index.require('images'))).rejects.toThrow(IsoFormatError);
      const custom = index.require('images/assisted_installer_custom.img');
      await expect(readIsoFileBytes(fixture.path, custom, 1024)).rejects.toThrow(/more than the 1024-byte limit/);
      expect((await readIsoFileBytes(fixture.path, custom, 1024 * 1024)).length).toBe(1024 * 1024);
    });
  });

  describe('names', () => {
    let tree: string;
    beforeAll(async () => {
      tree = await stageTree(work, NAMED_FILES);
    });

    it('uses Rock Ridge names (long, mixed case, via NM continuation and CE areas)', async () => {
      const iso = await xorrisoMkisofs(path.join(work, 'rr.iso'), tree, ['-R', '-J', '-joliet-long']);
      const rr = await expectIndexMatchesXorriso(iso);
      for (const [name, contents] of Object.entries(NAMED_FILES)) {
        expect((await readIsoFileBytes(iso, rr.require(name))).equals(Buffer.from(contents))).toBe(true);
      }
      const image = await readFile(iso);
      const longRecord = rawRecords(image, rootDirectoryLba(image)).find((record) => record.isoName.startsWith('LONG'));
      expect(longRecord).toBeDefined();
      expect(
        image.subarray(longRecord?.at ?? 0, (longRecord?.at ?? 0) + (longRecord?.length ?? 0)).includes('CE'),
      ).toBe(true);
    });

    it('falls back to lowercased ISO names without ";1" or a trailing "." when there is no Rock Ridge', async () => {
      const iso = await xorrisoMkisofs(path.join(work, 'plain.iso'), tree, ['--norock']);
      const plain = await expectIndexMatchesXorriso(iso, { caseFold: true });
      expect(plain.get('images/assisted_installer_custom.img')).toBeUndefined();
      expect(plain.get('images/assisted.img')?.size).toBe(64 * 1024);
      expect(plain.get('IMAGES/ASSISTED.IMG')).toBe(plain.get('images/assisted.img'));
      expect((await readIsoFileBytes(iso, plain.require('readme'))).toString()).toBe('no extension\n');
      expect(plain.require('readme').mode).toBeUndefined();
    });
  });

  it('resolves a deep tree that genisoimage relocated to rr_moved', async () => {
    const deepPath = 'a/b/c/d/e/f/g/h/i/j/k/DeepFile.Name.txt';
    const tree = await stageTree(work, { [deepPath]: 'deep\n', 'a/top.txt': 'top\n' });
    const iso = path.join(work, 'deep.iso');
    await runTool('genisoimage', ['-quiet', '-R', '-V', 'DEEP', '-o', iso, tree]);
    const deep = await expectIndexMatchesXorriso(iso);
    expect((await readIsoFileBytes(iso, deep.require(deepPath))).toString()).toBe('deep\n');
    expect(deep.require('a/b/c/d/e/f/g/h/i').isDirectory).toBe(true);
    expect(deep.files().filter((file) => file.path.startsWith('rr_moved/'))).toEqual([]);
    const image = await readFile(iso);
    const rrMoved = rawRecords(image, rootDirectoryLba(image)).find((record) => record.isoName === 'RR_MOVED');
    expect(rrMoved).toBeDefined();
  });

  it('combines the records of a multi-extent file', async () => {
    // libisofs only splits files above 4 GiB, so two adjacent files are relabelled as the extents of one.
    const first = Buffer.alloc(4096, 0xa1);
    const second = Buffer.from('the final extent ends mid-block\n'.repeat(100));
    const iso = await xorrisoMkisofs(
      path.join(work, 'multi.iso'),
      await stageTree(work, { 'a.bin': first, 'b.bin': second }),
      ['--norock'],
    );
    const image = await readFile(iso);
    const records = rawRecords(image, rootDirectoryLba(image));
    const a = records.find((record) => record.isoName === 'A.BIN;1');
    const b = records.find((record) => record.isoName === 'B.BIN;1');
    if (a === undefined || b === undefined) throw new Error('records not found');
    image[a.at + 25] = (image[a.at + 25] ?? 0) | 0x80;
    image.write('A', b.at + 33, 'latin1');
    await writeFile(iso, image);
    const multi = await expectIndexMatchesXorriso(iso, { caseFold: true });
    const file = multi.require('a.bin');
    expect(file.extents.length).toBe(2);
    expect(file.size).toBe(first.length + second.length);
    const bytes = await readIsoFileBytes(iso, file);
    expect(bytes.equals(Buffer.concat([first, second]))).toBe(true);
    expect(bytes.equals(await extractWithXorriso(iso, 'A.BIN'))).toBe(true);
  });

  it('reports Rock Ridge PX modes and the recording date as mtime', async () => {
    const mtime = new Date('2021-03-04T05:06:07Z');
    const tree = await stageTree(work, { 'dir/secret.cfg': { contents: 's\n', mode: 0o640, mtime } });
    const iso = await xorrisoMkisofs(path.join(work, 'modes.iso'), tree, ['-R']);
    const modes = await readIsoIndex(iso);
    const file = modes.require('dir/secret.cfg');
    expect(file.mode).toBe(0o100640);
    expect(file.mtime.toISOString()).toBe(mtime.toISOString());
    expect((modes.require('dir').mode ?? 0) & 0o170000).toBe(0o040000);
    // The same instant recorded as local time 2 h east of UTC (offset in 15-minute units).
    const image = await readFile(iso);
    const dir = rawRecords(image, rootDirectoryLba(image)).find((record) => record.isoName === 'DIR');
    const secret = rawRecords(image, dir?.lba ?? 0).find((record) => record.isoName.startsWith('SECRET'));
    if (secret === undefined) throw new Error('no SECRET record');
    image[secret.at + 21] = 7;
    image.writeInt8(8, secret.at + 24);
    await writeFile(iso, image);
    expect((await readIsoIndex(iso)).require('dir/secret.cfg').mtime.toISOString()).toBe(mtime.toISOString());
  });
});

describe('IsoIndex.hasJolietTree', () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'minimal-template-plan-'));
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('tells an ISO with a Joliet tree from one without', async () => {
    const tree = path.join(workDir, 'tree');
    await mkdir(tree, { recursive: true });
    await writeFile(path.join(tree, 'file.txt'), 'x');
    const build = async (name: string, extra: string[]): Promise<string> => {
      const out = path.join(workDir, name);
      await runTool('xorriso', ['-as', 'mkisofs', '-quiet', '-R', ...extra, '-V', 'TEST', '-o', out, tree]);
      return out;
    };
    expect((await readIsoIndex(await build('joliet.iso', ['-J']))).hasJolietTree).toBe(true);
    expect((await readIsoIndex(await build('plain.iso', []))).hasJolietTree).toBe(false);
  });
});
