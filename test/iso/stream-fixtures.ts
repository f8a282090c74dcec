/** Test-only helpers shared by the virtual-file and segment-stream specs. */
import fs from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { VirtualFile } from '../../src/iso/index.js';

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function randomBuffer(random: () => number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) buffer.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
  for (let i = whole; i < length; i += 1) buffer[i] = Math.floor(random() * 256);
  return buffer;
}

export interface TempDir {
  readonly path: string;
  file(name: string, data: Buffer): Promise<string>;
  remove(): Promise<void>;
}

export async function makeTempDir(prefix: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    path: dir,
    async file(name, data) {
      const filePath = path.join(dir, name);
      await writeFile(filePath, data);
      return filePath;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Open descriptors of this process: the ground truth for handle leaks. */
export async function openFdCount(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

export interface ReadProbe {
  readonly calls: number;
  readonly maxConcurrent: number;
  /** Descriptors that were read from. */
  readonly fds: Set<number>;
  /** Called right after a read has been started, while it is still in flight. */
  onRead?: () => void;
  restore(): void;
}

type ReadCallback = (error: NodeJS.ErrnoException | null, bytesRead: number, buffer: Buffer) => void;
type PositionedRead = (
  fd: number,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
  callback: ReadCallback,
) => void;

/** Wraps `fs.read` (which segment streams call for every positioned read) to count calls and reads in flight. */
export function probeFileReads(): ReadProbe {
  const original = fs.read;
  const probe: ReadProbe & { calls: number; maxConcurrent: number; active: number } = {
    calls: 0,
    maxConcurrent: 0,
    active: 0,
    fds: new Set<number>(),
    restore: () => void (fs.read = original),
  };
  const probing: PositionedRead = (fd, buffer, offset, length, position, callback) => {
    probe.calls += 1;
    probe.fds.add(fd);
    probe.active += 1;
    probe.maxConcurrent = Math.max(probe.maxConcurrent, probe.active);
    (original as unknown as PositionedRead)(fd, buffer, offset, length, position, (error, bytesRead, data) => {
      probe.active -= 1;
      callback(error, bytesRead, data);
    });
    probe.onRead?.();
  };
  fs.read = probing as unknown as typeof fs.read;
  return probe;
}

export function pause(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

export interface StreamFixture {
  /** 4 MiB file ‖ 13 in-memory bytes ‖ 1 MiB file. */
  readonly file: VirtualFile;
  readonly first: Buffer;
  readonly expected: Buffer;
}

/** Two random files joined by an in-memory patch, with the expected bytes built independently. */
export async function makeStreamFixture(temp: TempDir, seed: number): Promise<StreamFixture> {
  const random = seededRandom(seed);
  const first = randomBuffer(random, 4 * 1024 * 1024);
  const second = randomBuffer(random, 1024 * 1024);
  const patch = Buffer.from('patched bytes');
  const file = VirtualFile.concat([
    { kind: 'file', path: await temp.file('first.bin', first), offset: 0, length: first.length },
    { kind: 'bytes', data: patch },
    { kind: 'file', path: await temp.file('second.bin', second), offset: 0, length: second.length },
  ]);
  return { file, first, expected: Buffer.concat([first, patch, second]) };
}
