import { mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { SharedDescriptors } from './file-descriptors.js';
import { VirtualFile } from './virtual-file.js';

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
