/** Test-only helpers for the ISO 9660 reader specs: small ISOs from real tools and raw record access for patching. */
import { chmod, mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from '@jest/globals';
import { runTool } from '../fixtures/iso-fixture-tools.js';
import { findWithXorriso, listWithXorriso } from '../fixtures/xorriso.js';
import { readIsoIndex, type IsoIndex } from '../../src/iso/index.js';
import { IsoImageReader, readPrimaryVolume } from '../../src/iso/iso9660.js';

const BLOCK = 2048;

export interface StagedFile {
  contents: Buffer | string;
  mode?: number;
  mtime?: Date;
}

/** Writes `files` (relative path -> contents) under a new staging directory and returns it. */
export async function stageTree(work: string, files: Record<string, Buffer | string | StagedFile>): Promise<string> {
  const root = await mkdtemp(path.join(work, 'tree-'));
  for (const [relative, spec] of Object.entries(files)) {
    const file = typeof spec === 'string' || Buffer.isBuffer(spec) ? { contents: spec } : spec;
    const target = path.join(root, relative);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.contents);
    if (file.mode !== undefined) await chmod(target, file.mode);
    if (file.mtime !== undefined) await utimes(target, file.mtime, file.mtime);
  }
  return root;
}

/** The volume ID, from the volume descriptors only (so also of a truncated download). */
export function readVolumeId(isoPath: string): Promise<string> {
  return IsoImageReader.use(isoPath, async (reader) => (await readPrimaryVolume(reader)).volumeId);
}

/** `xorriso -as mkisofs <args> -o out tree`. */
export async function xorrisoMkisofs(out: string, tree: string, args: string[]): Promise<string> {
  await runTool('xorriso', ['-as', 'mkisofs', '-quiet', ...args, '-o', out, tree]);
  return out;
}

/**
 * Our index equals xorriso's view: the same paths and directories, and every file's extents where
 * xorriso puts them. `caseFold` compares lowercased, for images without Rock Ridge.
 */
export async function expectIndexMatchesXorriso(
  isoPath: string,
  options: { index?: IsoIndex; caseFold?: boolean } = {},
): Promise<IsoIndex> {
  const ours = options.index ?? (await readIsoIndex(isoPath));
  const fold = (text: string): string => (options.caseFold ? text.toLowerCase() : text);
  const paths = (await findWithXorriso(isoPath)).map(fold);
  expect(
    ours
      .files()
      .map((file) => file.path)
      .sort(),
  ).toEqual([...paths].sort());
  const directories = (await findWithXorriso(isoPath, 'd')).map(fold);
  expect(
    ours
      .files()
      .filter((file) => file.isDirectory)
      .map((file) => file.path)
      .sort(),
  ).toEqual(directories.sort());
  const rows = await listWithXorriso(isoPath);
  for (const filePath of new Set(rows.map((row) => row.path))) {
    const extents = rows.filter((row) => row.path === filePath).sort((a, b) => a.extent - b.extent);
    const file = ours.require(fold(filePath));
    expect(file.isDirectory).toBe(false);
    expect(file.extents).toEqual(extents.map((row) => ({ offset: row.lba * BLOCK, size: row.size })));
    expect(file.offset).toBe((extents[0]?.lba ?? -1) * BLOCK);
    expect(file.size).toBe(extents[0]?.fileSize);
  }
  return ours;
}

/** Directory LBAs as `isoinfo -l -R` prints them ("[ lba flags ]"), keyed by path without leading slash. */
export async function isoinfoDirectoryLbas(isoPath: string): Promise<Map<string, number>> {
  const { stdout } = await runTool('isoinfo', ['-l', '-R', '-i', isoPath]);
  const result = new Map<string, number>();
  let current = '';
  for (const line of stdout.toString('utf8').split('\n')) {
    const heading = /^Directory listing of \/(.*?)\/?$/.exec(line);
    if (heading) current = heading[1] ?? '';
    const entry = /^d\S+\s.*\[\s*(\d+)\s+\d+\]\s\s(.*?)\s*$/.exec(line);
    if (!entry || entry[2] === '.' || entry[2] === '..') continue;
    result.set(current === '' ? (entry[2] ?? '') : `${current}/${entry[2]}`, Number(entry[1]));
  }
  return result;
}

/** `isoinfo -d` facts, as an independent read of the primary volume descriptor. */
export async function isoinfoVolume(isoPath: string): Promise<{ volumeId: string; blocks: number; blockSize: number }> {
  const text = (await runTool('isoinfo', ['-d', '-i', isoPath])).stdout.toString('utf8');
  const field = (pattern: RegExp): string => pattern.exec(text)?.[1]?.trim() ?? '';
  return {
    volumeId: field(/^Volume id:(.*)$/m),
    blocks: Number(field(/^Volume size is:(.*)$/m)),
    blockSize: Number(field(/^Logical block size is:(.*)$/m)),
  };
}

export interface RawRecord {
  /** Absolute byte offset of the record in the image. */
  at: number;
  length: number;
  lba: number;
  flags: number;
  isoName: string;
}

/** Walks one directory's raw records straight from the bytes (deliberately independent of the reader). */
export function rawRecords(image: Buffer, dirLba: number, dirSize = BLOCK): RawRecord[] {
  const records: RawRecord[] = [];
  let at = dirLba * BLOCK;
  const end = at + dirSize;
  while (at < end) {
    const length = image[at] ?? 0;
    if (length === 0) {
      at = (Math.floor(at / BLOCK) + 1) * BLOCK;
      continue;
    }
    const nameLength = image[at + 32] ?? 0;
    const isoName = image.toString('latin1', at + 33, at + 33 + nameLength);
    records.push({ at, length, lba: image.readUInt32LE(at + 2), flags: image[at + 25] ?? 0, isoName });
    at += length;
  }
  return records;
}

export function rootDirectoryLba(image: Buffer): number {
  return image.readUInt32LE(16 * BLOCK + 156 + 2);
}

/** Writes both-endian 32-bit `value` at `at` (little-endian then big-endian copy). */
export function writeBothEndian32(image: Buffer, at: number, value: number): void {
  image.writeUInt32LE(value, at);
  image.writeUInt32BE(value, at + 4);
}
