import { execFileSync } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { VirtualFile, type Segment } from '../../src/iso/index.js';
import { segmentLength } from '../../src/iso/segment-stream.js';
import { fillArea, OverlayPatchError, type Patch } from '../../src/iso/virtual-file.js';
import { makeTempDir, randomBuffer, randomInt, readAll, seededRandom, type TempDir } from './stream-fixtures.js';

const MiB = 1024 * 1024;

/** Sorted, non-overlapping patches: some adjacent, one at offset 0 and one ending at the end. */
function randomPatches(random: () => number, size: number, count: number): Patch[] {
  const patches: Patch[] = [{ offset: 0, data: randomBuffer(random, randomInt(random, 1, 300)) }];
  let cursor = patches[0]!.data.length;
  const span = Math.floor(size / (count + 1));
  for (let i = 0; i < count; i += 1) {
    const adjacent = random() < 0.25;
    const offset = adjacent ? cursor : cursor + randomInt(random, 1, span);
    const data = randomBuffer(random, randomInt(random, 1, 5000));
    patches.push({ offset, data });
    cursor = offset + data.length;
  }
  const tail = randomBuffer(random, randomInt(random, 1, 100));
  patches.push({ offset: size - tail.length, data: tail });
  return patches;
}

/** The expected bytes, computed without VirtualFile: copy the base and write the patches in. */
function applyPatches(base: Buffer, patches: readonly Patch[]): Buffer {
  const result = Buffer.from(base);
  for (const patch of patches) patch.data.copy(result, patch.offset);
  return result;
}

/** Interesting positions: both ends of the file and of every patch, and their neighbours. */
function boundaries(patches: readonly Patch[], size: number): number[] {
  const points = new Set<number>([0, 1, size - 2, size - 1]);
  for (const { offset, data } of patches) {
    for (const p of [offset - 1, offset, offset + 1, offset + data.length - 1, offset + data.length]) points.add(p);
  }
  return [...points].filter((p) => p >= 0 && p < size).sort((a, b) => a - b);
}

async function expectRange(file: VirtualFile, expected: Buffer, start: number, end: number, chunkSize?: number) {
  const actual = await readAll(file.createReadStream({ start, end }, { chunkSize }));
  expect(actual.length).toBe(end - start + 1);
  expect(actual.equals(expected.subarray(start, end + 1))).toBe(true);
}

let temp: TempDir;
beforeAll(async () => {
  temp = await makeTempDir('virtual-file-spec-');
});
afterAll(async () => {
  await temp.remove();
});

describe('VirtualFile.overlay', () => {
  const random = seededRandom(0x150_0001);
  const size = 3 * MiB + 12_345;
  const base = randomBuffer(random, size);
  const patches = randomPatches(random, size, 12);
  const expected = applyPatches(base, patches);
  let basePath: string;
  let file: VirtualFile;

  beforeAll(async () => {
    basePath = await temp.file('base.bin', base);
    file = VirtualFile.overlay({ path: basePath, size }, patches);
  });

  it('has the size of the base and alternates file and patch segments', () => {
    expect(file.size).toBe(size);
    expect(file.segments.filter((s) => s.kind === 'bytes')).toHaveLength(patches.length);
  });

  it.each([undefined, 4097, 65_536])('streams the whole patched file (chunkSize %s)', async (chunkSize) => {
    const actual = await readAll(file.createReadStream(undefined, { chunkSize }));
    expect(actual.length).toBe(size);
    expect(actual.equals(expected)).toBe(true);
  });

  it('streams byte by byte with chunkSize 1', async () => {
    const { offset, data } = patches[1]!;
    await expectRange(file, expected, offset - 50, offset + data.length + 50, 1);
    await expectRange(file, expected, 0, 400, 1);
  });

  it('streams single bytes and ranges at every patch boundary', async () => {
    const points = boundaries(patches, size);
    for (const point of points) await expectRange(file, expected, point, point);
    for (let i = 0; i + 1 < points.length; i += 1) {
      await expectRange(file, expected, points[i]!, points[i + 1]!, 4097);
      await expectRange(file, expected, points[i]!, Math.min(size - 1, points[i]! + 64 * 1024 - 1));
    }
  });

  it('streams ranges inside a patch', async () => {
    for (const { offset, data } of patches.filter((p) => p.data.length > 4)) {
      await expectRange(file, expected, offset + 1, offset + data.length - 2);
      await expectRange(file, expected, offset, offset + data.length - 1, 3);
    }
  });

  it('streams random ranges (property)', async () => {
    const position = fc.integer({ min: 0, max: size - 1 });
    const chunkSize = fc.constantFrom(4097, 65_536, 1024 * 1024, 7919);
    await fc.assert(
      fc.asyncProperty(position, position, chunkSize, async (a, b, chunk) => {
        await expectRange(file, expected, Math.min(a, b), Math.max(a, b), chunk);
      }),
      { numRuns: 150, seed: 20_240_611 },
    );
  });

  it('matches dd applying the same patches to a copy of the base', async () => {
    const patchedPath = `${temp.path}/patched-by-dd.bin`;
    await copyFile(basePath, patchedPath);
    for (const [index, patch] of patches.entries()) {
      const patchPath = await temp.file(`patch-${index}.bin`, patch.data);
      const target = [`of=${patchedPath}`, `seek=${patch.offset}`, 'oflag=seek_bytes', 'conv=notrunc'];
      execFileSync('dd', [`if=${patchPath}`, ...target, 'status=none']);
    }
    const [start, end] = [patches[3]!.offset - 10_000, patches[5]!.offset + 777];
    const slice = ['iflag=skip_bytes,count_bytes', `skip=${start}`, `count=${end - start + 1}`];
    const byDd = execFileSync('dd', [`if=${patchedPath}`, ...slice, 'status=none'], { maxBuffer: 64 * MiB });
    const ours = await readAll(file.createReadStream({ start, end }, { chunkSize: 4097 }));
    expect(ours.equals(byDd)).toBe(true);
    const whole = await readAll(file.createReadStream());
    const wholePath = await temp.file('ours.bin', whole);
    expect(() => execFileSync('cmp', [wholePath, patchedPath])).not.toThrow();
  });

  it('overlays a region of a larger file, patch offsets relative to the region', async () => {
    const regionOffset = 100_003;
    const regionSize = 1 * MiB + 5;
    const regionPatches = randomPatches(random, regionSize, 5);
    const region = VirtualFile.overlay({ path: basePath, size: regionSize, offset: regionOffset }, regionPatches);
    const want = applyPatches(base.subarray(regionOffset, regionOffset + regionSize), regionPatches);
    expect(region.size).toBe(regionSize);
    expect((await readAll(region.createReadStream(undefined, { chunkSize: 4097 }))).equals(want)).toBe(true);
    for (const point of boundaries(regionPatches, regionSize)) await expectRange(region, want, point, regionSize - 1);
  });

  it('streams an unpatched base and a zero-length region', async () => {
    const unpatched = VirtualFile.overlay({ path: basePath, size }, []);
    expect((await readAll(unpatched.createReadStream())).equals(base)).toBe(true);
    const empty = VirtualFile.overlay({ path: basePath, size: 0 }, []);
    expect(empty.size).toBe(0);
    expect((await readAll(empty.createReadStream())).length).toBe(0);
  });
});

describe('VirtualFile.concat', () => {
  const random = seededRandom(0x150_0002);
  const first = randomBuffer(random, 2 * MiB + 3);
  const second = randomBuffer(random, 1 * MiB + 17);
  const payload = randomBuffer(random, 70_001);
  const ramdisk = randomBuffer(random, 333);
  let segments: Segment[];
  let expected: Buffer;
  let file: VirtualFile;

  beforeAll(async () => {
    const [firstPath, secondPath] = [await temp.file('first.bin', first), await temp.file('second.bin', second)];
    segments = [
      { kind: 'file', path: firstPath, offset: 4096, length: 1 * MiB },
      { kind: 'bytes', data: payload },
      { kind: 'file', path: secondPath, offset: 0, length: 0 },
      { kind: 'bytes', data: Buffer.alloc(0) },
      { kind: 'file', path: secondPath, offset: 10, length: 500_000 },
      { kind: 'file', path: firstPath, offset: 0, length: 100 },
      { kind: 'bytes', data: ramdisk },
      { kind: 'file', path: secondPath, offset: 0, length: second.length },
      { kind: 'file', path: firstPath, offset: first.length - 1, length: 1 },
    ];
    expected = Buffer.concat([
      first.subarray(4096, 4096 + MiB),
      payload,
      second.subarray(10, 500_010),
      first.subarray(0, 100),
      ramdisk,
      second,
      first.subarray(first.length - 1),
    ]);
    file = VirtualFile.concat(segments);
  });

  it('drops empty segments and sums the sizes', () => {
    expect(file.segments).toHaveLength(segments.length - 2);
    expect(file.size).toBe(expected.length);
  });

  it.each([undefined, 4097])('streams the concatenation (chunkSize %s)', async (chunkSize) => {
    expect((await readAll(file.createReadStream(undefined, { chunkSize }))).equals(expected)).toBe(true);
  });

  it('streams ranges across segment boundaries', async () => {
    const starts = [0];
    for (const s of file.segments) starts.push(starts.at(-1)! + segmentLength(s));
    for (const point of starts.slice(1, -1)) {
      await expectRange(file, expected, point - 1, point);
      await expectRange(file, expected, point, point);
      await expectRange(file, expected, Math.max(0, point - 5000), Math.min(file.size - 1, point + 5000), 4097);
    }
    await expectRange(file, expected, file.size - 1, file.size - 1);
    await expectRange(file, expected, 0, file.size - 1, 65_536);
  });

  it('pushes in-memory segments as views, not copies', async () => {
    const big = randomBuffer(random, 300_000);
    const chunks: Buffer[] = [];
    const inMemory = VirtualFile.concat([{ kind: 'bytes', data: big }]);
    const stream = inMemory.createReadStream(undefined, { chunkSize: 65_536 });
    expect(stream.readableObjectMode).toBe(false);
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.buffer).toBe(big.buffer);
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
  });

  it('streams zero-fill segments as zeros, whatever the chunk size, without a buffer per segment', async () => {
    const [path] = [await temp.file('zeros-base.bin', first)];
    const zeros = VirtualFile.concat([
      { kind: 'file', path, offset: 0, length: 1000 },
      { kind: 'zeros', length: 300_001 },
      { kind: 'bytes', data: ramdisk },
      { kind: 'zeros', length: 3 * MiB },
      { kind: 'zeros', length: 0 },
    ]);
    const wanted = Buffer.concat([first.subarray(0, 1000), Buffer.alloc(300_001), ramdisk, Buffer.alloc(3 * MiB)]);
    expect(zeros.size).toBe(wanted.length);
    expect(zeros.segments).toHaveLength(4);
    for (const chunkSize of [undefined, 4097, 1 * MiB]) {
      expect((await readAll(zeros.createReadStream(undefined, { chunkSize }))).equals(wanted)).toBe(true);
    }
    for (const [start, end] of [
      [999, 1001],
      [301_000, 301_001 + ramdisk.length],
      [wanted.length - 5, wanted.length - 1],
    ] as const) {
      await expectRange(zeros, wanted, start, end, 4097);
    }
  });

  it('copies the segment list, so later mutation cannot change the file', () => {
    const list: Segment[] = [{ kind: 'bytes', data: payload }];
    const concatenated = VirtualFile.concat(list);
    list.push({ kind: 'bytes', data: ramdisk });
    expect(concatenated.segments).toHaveLength(1);
    expect(Object.isFrozen(concatenated.segments)).toBe(true);
  });
});

describe('VirtualFile.overlay with zero-fills', () => {
  const random = seededRandom(0x150_0003);
  const base = randomBuffer(random, 3 * MiB);

  it('writes content then zeros over a whole area (fillArea), leaving the rest of the base', async () => {
    const path = await temp.file('fill-base.bin', base);
    const content = randomBuffer(random, 5000);
    const file = VirtualFile.overlay({ path, size: base.length }, [
      { offset: 10, data: Buffer.from('abc') },
      ...fillArea(MiB, 256 * 1024, content),
    ]);
    const wanted = Buffer.from(base);
    Buffer.from('abc').copy(wanted, 10);
    content.copy(wanted, MiB);
    wanted.fill(0, MiB + content.length, MiB + 256 * 1024);
    expect((await readAll(file.createReadStream())).equals(wanted)).toBe(true);
    expect(file.segments.filter((segment) => segment.kind === 'zeros')).toEqual([
      { kind: 'zeros', length: 256 * 1024 - content.length },
    ]);
    expect(file.segments.every((segment) => segment.kind !== 'bytes' || segment.data.length <= content.length)).toBe(
      true,
    );
  });

  it('validates zero-fills like patches: inside the region, sorted, not overlapping', () => {
    const region = { path: '/nonexistent', size: 1000 };
    expect(() => VirtualFile.overlay(region, [{ offset: 900, zeros: 101 }])).toThrow(OverlayPatchError);
    expect(() =>
      VirtualFile.overlay(region, [
        { offset: 0, zeros: 10 },
        { offset: 5, data: Buffer.alloc(1) },
      ]),
    ).toThrow(/overlaps/);
    expect(() => VirtualFile.overlay(region, [{ offset: 0, zeros: -1 }])).toThrow(/invalid length/);
    expect(() => fillArea(0, 10, Buffer.alloc(11))).toThrow(/do not fit a 10-byte area/);
  });
});
