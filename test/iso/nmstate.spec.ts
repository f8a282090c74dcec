import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixtureIso } from '../fixtures/iso-fixture.js';
import { newcCpio } from '../fixtures/iso-fixture-content.js';
import { runTool } from '../fixtures/iso-fixture-tools.js';
import { OperationAbortedError, buildNmstateRamdisk, extractNmstatectl } from '../../src/iso/index.js';
import { NmstateExtractError } from '../../src/iso/nmstate.js';
import { buildRootImage, rootfsCpio, type RootImageKind, type TreeFile } from './root-images.js';
import { run } from './xorriso-iso.js';

let baseDir: string;
let workDir: string;

beforeAll(async () => {
  baseDir = await mkdtemp(path.join(os.tmpdir(), 'nmstate-extract-'));
});

afterAll(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

beforeEach(async () => {
  workDir = await mkdtemp(path.join(baseDir, 'work-'));
});

afterEach(async () => {
  // Every path, success or failure, must leave the scratch space as it found it.
  expect(await readdir(workDir)).toEqual([]);
});

const binary = randomBytes(300_000);
const executable = (data: Buffer): TreeFile => ({ data, mode: 0o755 });
const plain = (data: string): TreeFile => ({ data: Buffer.from(data), mode: 0o644 });

/** A plain tree with decoys whose names contain "nmstatectl" but are not the binary. */
const plainTree: Record<string, TreeFile> = {
  'usr/bin/nmstatectl': executable(binary),
  'usr/share/man/man8/nmstatectl.8.gz': plain('man page'),
  'usr/lib/dracut/modules.d/nmstatectl-helper': plain('not it'),
  'etc/os-release': plain('ID=rhcos\n'),
};

/** The live sysroot layout: the binary only inside an ostree deployment. */
const ostreeTree: Record<string, TreeFile> = {
  'ostree/deploy/rhcos/deploy/4f2a9c.0/usr/bin/nmstatectl': executable(binary),
  'ostree/deploy/rhcos/deploy/4f2a9c.0/usr/share/doc/nmstatectl/README': plain('doc'),
  'ostree/repo/objects/ab/cdef.file': plain('object'),
  'ostree/deploy/rhcos/deploy/4f2a9c.0.origin': plain('[origin]\n'),
};

async function fixtureIso(name: string, rootfs: Buffer): Promise<string> {
  const outPath = path.join(baseDir, `${name}.iso`);
  await buildFixtureIso({ outPath, arch: 'ppc64le', rootfs });
  return outPath;
}

async function isoWithRootImage(kind: RootImageKind, tree: Record<string, TreeFile>, name: string): Promise<string> {
  const image = await buildRootImage(baseDir, kind, tree);
  return fixtureIso(name, rootfsCpio(kind, image));
}

describe('extractNmstatectl', () => {
  for (const kind of ['squashfs', 'erofs'] as const) {
    it(`extracts /usr/bin/nmstatectl from root.${kind}`, async () => {
      const isoPath = await isoWithRootImage(kind, plainTree, `plain-${kind}`);
      const extracted = await extractNmstatectl({ isoPath, workDir });
      expect(extracted.equals(binary)).toBe(true);
    });

    it(`finds nmstatectl in an ostree deployment in root.${kind}`, async () => {
      const isoPath = await isoWithRootImage(kind, ostreeTree, `ostree-${kind}`);
      const extracted = await extractNmstatectl({ isoPath, workDir });
      expect(extracted.equals(binary)).toBe(true);
    });

    it(`fails with NmstateExtractError when root.${kind} has no nmstatectl`, async () => {
      const isoPath = await isoWithRootImage(kind, { 'usr/bin/true': executable(randomBytes(64)) }, `none-${kind}`);
      await expect(extractNmstatectl({ isoPath, workDir })).rejects.toThrow(NmstateExtractError);
    });
  }

  it('skips cpio members before the root image', async () => {
    const image = await buildRootImage(baseDir, 'squashfs', plainTree);
    const rootfs = rootfsCpio('squashfs', image, [{ name: 'README', data: randomBytes(1001) }]);
    const isoPath = await fixtureIso('member-after-readme', rootfs);
    expect((await extractNmstatectl({ isoPath, workDir })).equals(binary)).toBe(true);
  });

  it('fails with NmstateExtractError when rootfs.img is missing or holds no root image', async () => {
    const noRootfs = path.join(baseDir, 'no-rootfs.iso');
    await buildFixtureIso({ outPath: noRootfs, arch: 'ppc64le', omit: ['images/pxeboot/rootfs.img'] });
    await expect(extractNmstatectl({ isoPath: noRootfs, workDir })).rejects.toThrow(
      /has no images\/pxeboot\/rootfs.img/,
    );
    const other = await fixtureIso(
      'other-member',
      newcCpio([{ name: 'root.img', mode: 0o100644, data: randomBytes(100) }]),
    );
    await expect(extractNmstatectl({ isoPath: other, workDir })).rejects.toThrow(
      /neither root.squashfs nor root.erofs/,
    );
  });

  it('rejects a pre-aborted signal with OperationAbortedError', async () => {
    const isoPath = await isoWithRootImage('squashfs', plainTree, 'aborted');
    const controller = new AbortController();
    controller.abort();
    await expect(extractNmstatectl({ isoPath, workDir, signal: controller.signal })).rejects.toThrow(
      OperationAbortedError,
    );
  });

  it('packs the extracted binary into nmstate.img that gzip + cpio unpack to usr/bin/nmstatectl, mode 0755', async () => {
    const isoPath = await isoWithRootImage('squashfs', plainTree, 'ramdisk');
    const ramdisk = buildNmstateRamdisk(await extractNmstatectl({ isoPath, workDir }));
    const unpack = await mkdtemp(path.join(baseDir, 'unpack-'));
    const ramdiskPath = path.join(unpack, 'nmstate.img');
    await writeFile(ramdiskPath, ramdisk);
    const archive = (await runTool('gzip', ['-dc', ramdiskPath])).stdout;
    const archivePath = path.join(unpack, 'nmstate.cpio');
    await writeFile(archivePath, archive);
    const out = path.join(unpack, 'out');
    await mkdir(out);
    await runCpioExtract(archivePath, out);
    const unpacked = path.join(out, 'usr/bin/nmstatectl');
    expect((await readFile(unpacked)).equals(binary)).toBe(true);
    const { stdout } = await runTool('stat', ['-c', '%a %F', unpacked]);
    expect(stdout.toString().trim()).toBe('755 regular file');
    expect((await stat(unpacked)).mode & 0o777).toBe(0o755);
  });
});

/** `cpio -idv` run in `dir`, reading the archive from -F so that no shell is needed. */
async function runCpioExtract(archivePath: string, dir: string): Promise<void> {
  await run('cpio', ['-idv', '--no-absolute-filenames', '--preserve-modification-time', '-F', archivePath], {
    cwd: dir,
  });
}
