import { mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Segment } from './segment-stream.js';
import {
  OverlayPatchError,
  SharedDescriptors,
  VirtualFile,
  VirtualFileArgumentError,
  type Patch,
} from './virtual-file.js';

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

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'descriptors-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Descriptors of this process open on files in the test's directory. */
function openHere(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;
}

function fileWith(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('SharedDescriptors', () => {
  it('opens a file once for any number of readers and keeps it for the next one', () => {
    const files = new SharedDescriptors();
    const path = fileWith('a', 'abc');
    const readers = Array.from({ length: 5 }, () => files.acquire(path));
    expect(new Set(readers.map((reader) => reader.fd)).size).toBe(1);
    expect(openHere()).toBe(1);
    expect(files.usage).toEqual({ open: 1, readers: 5 });
    readers.forEach((reader) => files.release(reader));
    expect(files.usage).toEqual({ open: 1, readers: 0 });
    expect(files.acquire(path).fd).toBe(readers[0]?.fd);
    files.closeAll();
  });

  it('closes a descriptor idle for its idle time, not one in use', () => {
    const files = new SharedDescriptors(1_000);
    const [idle, busy] = [fileWith('idle', 'x'), fileWith('busy', 'y')];
    files.release(files.acquire(idle));
    const held = files.acquire(busy);
    files.sweep(Date.now() + 1_000);
    expect(files.usage).toEqual({ open: 1, readers: 1 });
    expect(openHere()).toBe(1);
    files.release(held);
    files.closeAll();
    expect(openHere()).toBe(0);
  });

  it('opens a file replaced on disk afresh, while a reader of the old one keeps it until it lets go', async () => {
    const files = new SharedDescriptors();
    const path = fileWith('image', 'old');
    const oldReader = files.acquire(path);
    renameSync(fileWith('image.new', 'new'), path);
    files.sweep();
    const newReader = files.acquire(path);
    expect(newReader.fd).not.toBe(oldReader.fd);
    expect(openHere()).toBe(2);
    const file = VirtualFile.concat([{ kind: 'file', path, offset: 0, length: 3 }]);
    expect((await file.read({ start: 0, end: 2 }, files)).toString()).toBe('new');
    files.release(oldReader);
    expect(openHere()).toBe(1);
    files.release(newReader);
    files.closeAll();
    expect(openHere()).toBe(0);
  });

  it('checks the path when the first reader comes after an idle spell: a removed file fails as it would', () => {
    const files = new SharedDescriptors();
    const path = fileWith('gone', 'data');
    files.release(files.acquire(path));
    rmSync(path);
    expect(() => files.acquire(path)).toThrow(/ENOENT/);
    expect(openHere()).toBe(0);
  });
});

describe('VirtualFile.read', () => {
  it('reads a range across file, bytes and zero segments into one buffer', async () => {
    const path = fileWith('base', '0123456789');
    const file = VirtualFile.overlay({ path, size: 10 }, [
      { offset: 2, data: Buffer.from('AB') },
      { offset: 6, zeros: 2 },
    ]);
    const files = new SharedDescriptors();
    expect((await file.read({ start: 1, end: 8 }, files)).toString('latin1')).toBe('1AB45\0\x008');
    expect((await file.read({ start: 0, end: 9 })).toString('latin1')).toBe('01AB45\0\x0089');
    expect(files.usage.readers).toBe(0);
    files.closeAll();
  });

  it('fails on a file shorter than its segment, and lets go of the descriptor', async () => {
    const path = fileWith('short', '0123');
    const file = VirtualFile.concat([{ kind: 'file', path, offset: 0, length: 10 }]);
    const files = new SharedDescriptors();
    await expect(file.read({ start: 2, end: 9 }, files)).rejects.toThrow(/ended at byte 4/);
    expect(files.usage.readers).toBe(0);
    files.closeAll();
  });
});
