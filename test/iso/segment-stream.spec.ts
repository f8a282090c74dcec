import { once } from 'node:events';
import { truncate } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { VirtualFile } from '../../src/iso/index.js';
import { TruncatedFileError } from '../../src/iso/segment-stream.js';
import {
  makeStreamFixture,
  makeTempDir,
  openFdCount,
  pause,
  probeFileReads,
  readAll,
  type TempDir,
} from './stream-fixtures.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

let temp: TempDir;
let file: VirtualFile;
let first: Buffer;
let expected: Buffer;

beforeAll(async () => {
  temp = await makeTempDir('segment-stream-spec-');
  ({ file, first, expected } = await makeStreamFixture(temp, 0x5e9_0001));
});
afterAll(async () => {
  await temp.remove();
});

/** Counts pushes made after destroy(), which must never happen. */
function countPushesAfterDestroy(stream: Readable): () => number {
  const push = stream.push.bind(stream);
  let late = 0;
  stream.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (stream.destroyed) late += 1;
    return push(chunk, encoding);
  };
  return () => late;
}

describe('file handles', () => {
  let baseline: number;
  beforeEach(async () => {
    baseline = await openFdCount();
  });
  afterEach(async () => {
    expect(await openFdCount()).toBe(baseline);
  });

  it('are released after a full read', async () => {
    const stream = file.createReadStream(undefined, { chunkSize: CHUNK });
    expect((await readAll(stream)).equals(expected)).toBe(true);
    if (!stream.closed) await once(stream, 'close');
  });

  it('are opened once per path and reused across segments', async () => {
    const path = (file.segments[0] as { path: string }).path;
    const twice = VirtualFile.concat([
      { kind: 'file', path, offset: 0, length: 10 },
      { kind: 'bytes', data: Buffer.from('x') },
      { kind: 'file', path, offset: 20, length: 10 },
    ]);
    const probe = probeFileReads();
    try {
      const data = await readAll(twice.createReadStream());
      expect(data.equals(Buffer.concat([first.subarray(0, 10), Buffer.from('x'), first.subarray(20, 30)]))).toBe(true);
      expect(probe.calls).toBe(2);
      expect(probe.fds.size).toBe(1);
    } finally {
      probe.restore();
    }
  });

  it('are released when destroyed after the first chunk', async () => {
    const stream = file.createReadStream(undefined, { chunkSize: CHUNK });
    const latePushes = countPushesAfterDestroy(stream);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      stream.destroy();
    });
    await once(stream, 'close');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.equals(first.subarray(0, CHUNK))).toBe(true);
    expect(latePushes()).toBe(0);
  });

  it('are released when destroyed while a read is in flight', async () => {
    const probe = probeFileReads();
    try {
      const stream = file.createReadStream(undefined, { chunkSize: CHUNK });
      const latePushes = countPushesAfterDestroy(stream);
      await once(stream, 'readable');
      let destroyedDuringRead = false;
      probe.onRead = () => {
        stream.destroy();
        destroyedDuringRead = true;
      };
      stream.read(); // drains the buffer, so the stream starts the next read
      await once(stream, 'close');
      expect(destroyedDuringRead).toBe(true);
      expect(latePushes()).toBe(0);
    } finally {
      probe.restore();
    }
  });

  it('are released when destroyed before the first read', async () => {
    const stream = file.createReadStream();
    stream.destroy();
    await once(stream, 'close');
  });

  it('are released when destroyed while open() is in flight', async () => {
    const stream = file.createReadStream();
    const latePushes = countPushesAfterDestroy(stream);
    stream.read(0); // starts _read, which starts open(); it cannot have completed synchronously
    stream.destroy();
    await once(stream, 'close');
    // Give a leaked handle every chance to show up before afterEach counts descriptors.
    await pause(20);
    expect(latePushes()).toBe(0);
  });

  it('are released when the abort signal fires', async () => {
    const controller = new AbortController();
    const stream = file.createReadStream(undefined, { chunkSize: CHUNK, signal: controller.signal });
    stream.once('data', () => controller.abort());
    const error = await readAll(stream).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    if (!stream.closed) await once(stream, 'close');
  });

  it('are released after a missing-file error', async () => {
    const missing = VirtualFile.concat([
      { kind: 'file', path: (file.segments[0] as { path: string }).path, offset: 0, length: 10 },
      { kind: 'file', path: `${temp.path}/missing.bin`, offset: 0, length: 10 },
    ]);
    await expect(readAll(missing.createReadStream())).rejects.toThrow(/ENOENT/);
  });
});

describe('truncated files', () => {
  let baseline: number;
  beforeEach(async () => {
    baseline = await openFdCount();
  });
  afterEach(async () => {
    expect(await openFdCount()).toBe(baseline);
  });

  it('error the stream instead of emitting short data', async () => {
    const path = await temp.file('short.bin', first.subarray(0, MiB));
    const short = VirtualFile.overlay({ path, size: 2 * MiB }, []);
    const stream = short.createReadStream(undefined, { chunkSize: 4097 });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const [error] = (await once(stream, 'error')) as [unknown];
    expect(error).toBeInstanceOf(TruncatedFileError);
    expect((error as Error).message).toContain(path);
    expect((error as TruncatedFileError).actualEnd).toBe(MiB);
    const received = Buffer.concat(chunks);
    expect(received.length).toBeLessThanOrEqual(MiB);
    expect(received.equals(first.subarray(0, received.length))).toBe(true);
    if (!stream.closed) await once(stream, 'close');
  });

  it('error the stream when the file is truncated while streaming', async () => {
    const path = await temp.file('shrinking.bin', first);
    const shrinking = VirtualFile.overlay({ path, size: first.length }, []);
    const stream = shrinking.createReadStream(undefined, { chunkSize: CHUNK });
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received === CHUNK) stream.pause();
    });
    await once(stream, 'pause');
    await truncate(path, 2 * CHUNK + 100);
    stream.resume();
    const [error] = (await once(stream, 'error')) as [unknown];
    expect(error).toBeInstanceOf(TruncatedFileError);
    // Chunk 2 fits in what is left of the file whether it was read before or after the truncation.
    expect(received).toBe(2 * CHUNK);
    if (!stream.closed) await once(stream, 'close');
  });
});
