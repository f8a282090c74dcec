import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildIgnitionPayload, buildNmstateRamdisk, readIsoIndex } from '../../src/iso/index.js';
import { buildCompressedCpio } from '../../src/iso/initramfs.js';
import { ignitionPatches, resolveIgnitionArea } from '../../src/iso/live-iso.js';
import {
  applyPatchesToFile,
  buildTestIso,
  makeTempDir,
  run,
  xorrisoExtract,
  xorrisoFileOffsets,
} from './xorriso-iso.js';

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

/** Decompresses with the system gzip and extracts with the system cpio; returns the extraction dir and listings. */
async function unpackWithSystemTools(payload: Buffer): Promise<{ dir: string; names: string[]; verbose: string[] }> {
  const work = await mkdtemp(path.join(workDir, 'unpack-'));
  const payloadPath = path.join(work, 'payload.img');
  const archivePath = path.join(work, 'payload.cpio');
  await writeFile(payloadPath, payload);
  const { stdout } = await run('gzip', ['-dc', payloadPath]);
  await writeFile(archivePath, stdout);
  const names = (await run('cpio', ['-t', '-F', archivePath])).stdout.toString().split('\n').filter(Boolean);
  const verbose = (await run('cpio', ['-tv', '-F', archivePath])).stdout.toString().split('\n').filter(Boolean);
  const dir = path.join(work, 'out');
  await mkdir(dir);
  await run('cpio', ['-idv', '--no-absolute-filenames', '-F', archivePath], { cwd: dir });
  return { dir, names, verbose };
}

function modeColumn(verbose: string[], name: string): string | undefined {
  return verbose.find((line) => line.endsWith(` ${name}`))?.split(/\s+/)[0];
}

describe('buildIgnitionPayload', () => {
  const cases: Array<[string, Buffer]> = [
    ['a small config', Buffer.from('{"ignition":{"version":"3.2.0"}}')],
    ['unicode content', Buffer.from('{"passwd":{"users":[{"name":"core","gecos":"Zoë 🚀 日本語"}]}}', 'utf8')],
    ['empty content', Buffer.alloc(0)],
    ['a large, incompressible config', Buffer.from(randomBytes(3 * 1024 * 1024 + 3).toString('base64'))],
  ];

  it.each(cases)('round-trips %s through gzip and cpio', async (_name, config) => {
    const payload = await buildIgnitionPayload(config);
    expect(payload.length % 4).toBe(0);
    const { dir, names, verbose } = await unpackWithSystemTools(payload);
    expect(names).toEqual(['config.ign']);
    expect(modeColumn(verbose, 'config.ign')).toBe('-rw-r--r--');
    expect((await readFile(path.join(dir, 'config.ign'))).equals(config)).toBe(true);
  });
});

describe('buildNmstateRamdisk / buildCompressedCpio', () => {
  it('holds an executable usr/bin/nmstatectl with its parent directories', async () => {
    const binary = randomBytes(200_001);
    const payload = buildNmstateRamdisk(binary);
    expect(payload.length % 4).toBe(0);
    const { dir, names, verbose } = await unpackWithSystemTools(payload);
    expect(names).toEqual(['usr', 'usr/bin', 'usr/bin/nmstatectl']);
    expect(modeColumn(verbose, 'usr/bin/nmstatectl')).toBe('-rwxr-xr-x');
    expect(modeColumn(verbose, 'usr')).toBe('drwxr-xr-x');
    expect(modeColumn(verbose, 'usr/bin')).toBe('drwxr-xr-x');
    expect((await readFile(path.join(dir, 'usr/bin/nmstatectl'))).equals(binary)).toBe(true);
  });

  it('packs several entries sharing parent directories once', async () => {
    const payload = buildCompressedCpio([
      { path: '/etc/a/one', data: Buffer.from('1'), mode: 0o100600 },
      { path: 'etc/a/two', data: Buffer.from('22'), mode: 0o100644 },
      { path: 'top', data: Buffer.from('333'), mode: 0o100755 },
    ]);
    const { dir, names, verbose } = await unpackWithSystemTools(payload);
    expect(names).toEqual(['etc', 'etc/a', 'etc/a/one', 'etc/a/two', 'top']);
    expect(modeColumn(verbose, 'etc/a/one')).toBe('-rw-------');
    expect(await readFile(path.join(dir, 'etc/a/two'), 'utf8')).toBe('22');
    expect(await readFile(path.join(dir, 'top'), 'utf8')).toBe('333');
  });
});
