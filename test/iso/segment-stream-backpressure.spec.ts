import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { VirtualFile } from '../../src/iso/index.js';
import { makeStreamFixture, makeTempDir, pause, probeFileReads, readAll, type TempDir } from './stream-fixtures.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

let temp: TempDir;
let file: VirtualFile;
let expected: Buffer;

beforeAll(async () => {
  temp = await makeTempDir('segment-stream-spec-');
  ({ file, expected } = await makeStreamFixture(temp, 0x5e9_0001));
});
afterAll(async () => {
  await temp.remove();
});

/** Waits until the stream has stopped reading on its own (nothing consumes it meanwhile). */
async function settle(stream: Readable, reads: () => number): Promise<void> {
  let last = -1;
  for (let stable = 0; stable < 5;) {
    await pause(10);
    stable = reads() === last ? stable + 1 : 0;
    last = reads();
    if (stream.destroyed) return;
  }
}

describe('backpressure', () => {
  it('keeps at most one read in flight', async () => {
    const probe = probeFileReads();
    try {
      const data = await readAll(file.createReadStream(undefined, { chunkSize: 4097 }));
      expect(data.equals(expected)).toBe(true);
      expect(probe.calls).toBeGreaterThan(1000);
      expect(probe.maxConcurrent).toBe(1);
    } finally {
      probe.restore();
    }
  });

  it('keeps going when a data handler calls read() synchronously', async () => {
    const stream = file.createReadStream(undefined, { chunkSize: CHUNK });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      stream.read(0); // re-enters _read from inside push(); a stale "reading" flag would stall here
    });
    await once(stream, 'end');
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
  });

  it('stops reading while nobody consumes (paused stream)', async () => {
    const probe = probeFileReads();
    try {
      const stream = file.createReadStream(undefined, { chunkSize: CHUNK });
      stream.read(0);
      await settle(stream, () => probe.calls);
      expect(stream.readableLength).toBeGreaterThan(0);
      expect(stream.readableLength).toBeLessThanOrEqual(2 * CHUNK);
      expect(probe.calls).toBeLessThanOrEqual(3);
      expect((await readAll(stream)).equals(expected)).toBe(true);
    } finally {
      probe.restore();
    }
  });

  it('stays a bounded number of chunks ahead of a slow consumer', async () => {
    const probe = probeFileReads();
    let consumed = 0;
    let maxAhead = 0;
    // Sampled as each read starts: reads started minus chunks the consumer has finished with.
    probe.onRead = () => {
      maxAhead = Math.max(maxAhead, probe.calls - consumed);
    };
    const slow = new Writable({
      highWaterMark: 1,
      write(_chunk: Buffer, _encoding, callback) {
        setTimeout(() => {
          consumed += 1;
          callback();
        }, 1);
      },
    });
    try {
      await pipeline(file.createReadStream({ start: 0, end: 2 * MiB - 1 }, { chunkSize: CHUNK }), slow);
      expect(consumed).toBe(32);
      expect(probe.calls).toBe(32);
      expect(maxAhead).toBeLessThanOrEqual(3);
    } finally {
      probe.restore();
    }
  });
});

describe('memory', () => {
  it('streams a 256 MiB sparse file in O(chunk) memory', async () => {
    const path = `${temp.path}/sparse.bin`;
    const size = 256 * MiB;
    const handle = await open(path, 'w');
    await handle.truncate(size);
    await handle.close();
    const sparse = VirtualFile.overlay({ path, size }, [{ offset: size - 5, data: Buffer.from('tail!') }]);
    const before = process.memoryUsage().rss;
    let peak = before;
    let total = 0;
    let tail: Buffer | undefined;
    const discard = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        total += chunk.length;
        tail = chunk;
        peak = Math.max(peak, process.memoryUsage().rss);
        callback();
      },
    });
    await pipeline(sparse.createReadStream(), discard);
    expect(total).toBe(size);
    expect(tail?.toString()).toBe('tail!');
    expect(peak - before).toBeLessThan(64 * MiB);
  });
});
