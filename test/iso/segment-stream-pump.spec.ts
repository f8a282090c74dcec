import { once } from 'node:events';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { VirtualFile, pumpSegments } from '../../src/iso/index.js';
import { DEFAULT_CHUNK_SIZE } from '../../src/iso/segment-stream.js';
import { makeStreamFixture, makeTempDir, openFdCount, pause, readAll, type TempDir } from './stream-fixtures.js';

let temp: TempDir;
let file: VirtualFile;
let expected: Buffer;

beforeAll(async () => {
  temp = await makeTempDir('segment-stream-pump-spec-');
  ({ file, expected } = await makeStreamFixture(temp, 0x5e9_0002));
});
afterAll(async () => {
  await temp.remove();
});

/**
 * A sink that keeps each chunk it is given (not a copy) until its write callback, which it delays, and checks at
 * that moment that the chunk still holds the bytes it had to hold: a buffer read into again too early shows here.
 */
class HoldingSink extends Writable {
  received = 0;
  corrupted = 0;
  readonly memories = new Set<ArrayBufferLike>();

  constructor(
    private readonly want: Buffer,
    private readonly holdMs: () => number,
  ) {
    super({ highWaterMark: 16 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const at = this.received;
    this.received += chunk.length;
    this.memories.add(chunk.buffer);
    setTimeout(() => {
      if (!chunk.equals(this.want.subarray(at, at + chunk.length))) this.corrupted += 1;
      callback();
    }, this.holdMs());
  }
}

describe('pumpSegments', () => {
  it('delivers every byte and never reads into a buffer the sink still holds', async () => {
    const sink = new HoldingSink(expected, () => 1 + Math.floor(Math.random() * 4));
    pumpSegments(file.createReadStream(), sink);
    await once(sink, 'finish');
    expect(sink.received).toBe(expected.length);
    expect(sink.corrupted).toBe(0);
  });

  it('reads a long stream through a handful of buffers', async () => {
    const sink = new HoldingSink(expected, () => 0);
    pumpSegments(file.createReadStream(), sink);
    await once(sink, 'finish');
    const fileChunks = Math.ceil(expected.length / DEFAULT_CHUNK_SIZE);
    expect(sink.corrupted).toBe(0);
    // One memory for the in-memory patch, a few read buffers for the ~20 file chunks.
    expect(sink.memories.size).toBeLessThanOrEqual(6);
    expect(fileChunks).toBeGreaterThan(12);
  });

  it('serves a range that starts and ends inside chunks', async () => {
    const [start, end] = [DEFAULT_CHUNK_SIZE + 12_345, expected.length - 54_321];
    const want = expected.subarray(start, end + 1);
    const sink = new HoldingSink(want, () => 1);
    pumpSegments(file.createReadStream({ start, end }), sink);
    await once(sink, 'finish');
    expect(sink.received).toBe(want.length);
    expect(sink.corrupted).toBe(0);
  });

  it('counts a chunk as written only when the sink gives its write callback', async () => {
    const held: Array<() => void> = [];
    let writes = 0;
    // Holds every callback until told: the pump must count nothing while the client takes nothing.
    const sink = new Writable({
      highWaterMark: 16 * 1024,
      write(_chunk: Buffer, _encoding, callback) {
        writes += 1;
        held.push(() => callback());
      },
    });
    const progress = { chunksWritten: 0 };
    const source = file.createReadStream();
    pumpSegments(source, sink, progress);
    while (held.length === 0) await pause(1);
    expect(progress.chunksWritten).toBe(0);
    // Released one at a time, every callback counts once, until the whole stream went through.
    const finished = once(sink, 'finish');
    while (!sink.writableFinished) {
      held.shift()?.();
      await pause(0);
    }
    await finished;
    expect(progress.chunksWritten).toBe(writes);
    expect(writes).toBeGreaterThan(1);
  });

  it('closes the files when the caller destroys the source midway', async () => {
    const baseline = await openFdCount();
    const sink = new HoldingSink(expected, () => 2);
    const source = file.createReadStream();
    pumpSegments(source, sink);
    await pause(5);
    source.destroy();
    await once(source, 'close');
    expect(sink.received).toBeLessThan(expected.length);
    expect(sink.corrupted).toBe(0);
    expect(await openFdCount()).toBe(baseline);
  });

  it('leaves consumers that do not give chunks back with chunks of their own', async () => {
    const chunks: Buffer[] = [];
    const stream = file.createReadStream();
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(stream, 'end');
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    expect(new Set(chunks.map((chunk) => chunk.buffer)).size).toBe(chunks.length);
    expect((await readAll(file.createReadStream())).equals(expected)).toBe(true);
  });
});
