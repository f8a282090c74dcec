import { describe, expect, it } from '@jest/globals';
import type { Readable } from 'node:stream';
import type { Segment } from './segment-stream.js';
import { OverlayPatchError, VirtualFile, VirtualFileArgumentError, type Patch } from './virtual-file.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('validation', () => {
  const base = { path: '/nonexistent/base.iso', size: 1000 };
  const patch = (offset: number, length: number): Patch => ({ offset, data: Buffer.alloc(length, 1) });

  it.each([
    ['overlapping', [patch(0, 10), patch(100, 50), patch(149, 5)], 2, /Patch #2 at offset 149 .*overlaps patch #1/],
    ['unsorted', [patch(500, 10), patch(100, 10)], 1, /Patch #1 at offset 100 .* sorted/],
    ['past the end', [patch(0, 1), patch(995, 6)], 1, /Patch #1 at offset 995 \(6 bytes\) extends past/],
    ['starting at the end', [patch(1000, 1)], 0, /Patch #0 at offset 1000/],
    ['negative offset', [patch(-1, 1)], 0, /Patch #0 at offset -1 .*invalid offset/],
    ['fractional offset', [patch(1.5, 1)], 0, /invalid offset/],
  ])('rejects %s patches naming the offending one', (_name, patches, index, message) => {
    let caught: unknown;
    try {
      VirtualFile.overlay(base, patches);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OverlayPatchError);
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as OverlayPatchError).patchIndex).toBe(index);
    expect((caught as Error).message).toMatch(message);
  });

  it('accepts adjacent patches and patches touching both ends', () => {
    const file = VirtualFile.overlay(base, [patch(0, 10), patch(10, 10), patch(990, 10)]);
    expect(file.size).toBe(1000);
  });

  it('rejects invalid base regions and segments', () => {
    expect(() => VirtualFile.overlay({ ...base, size: -1 }, [])).toThrow(VirtualFileArgumentError);
    expect(() => VirtualFile.overlay({ ...base, offset: 0.5 }, [])).toThrow(VirtualFileArgumentError);
    expect(() => VirtualFile.concat([{ kind: 'file', path: 'x', offset: -1, length: 1 }])).toThrow(/segment #0 offset/);
    const notANumber: Segment = { kind: 'file', path: 'x', offset: 0, length: NaN };
    expect(() => VirtualFile.concat([notANumber])).toThrow(/segment #0 length/);
  });

  it.each([[{ start: 0, end: 1000 }], [{ start: 10, end: 9 }], [{ start: -1, end: 5 }], [{ start: 0.5, end: 5 }]])(
    'rejects the stream range %j outside the file',
    (range) => {
      const file = VirtualFile.overlay(base, []);
      expect(() => file.createReadStream(range)).toThrow(VirtualFileArgumentError);
    },
  );

  it.each([0, -1, 1.5])('rejects chunkSize %s', (chunkSize) => {
    expect(() => VirtualFile.overlay(base, []).createReadStream(undefined, { chunkSize })).toThrow(/chunkSize/);
  });

  it('reports a missing base file as a stream error', async () => {
    await expect(readAll(VirtualFile.overlay(base, []).createReadStream())).rejects.toThrow(/ENOENT/);
  });
});
