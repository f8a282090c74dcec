import { describe, expect, it } from '@jest/globals';
import { ChunkBufferPool, StreamBuffers, findSegmentIndex, segmentStarts, type Segment } from './segment-stream.js';

const SIZE = 64 * 1024;

describe('ChunkBufferPool', () => {
  it('hands out buffers of its size, and a given-back buffer again', () => {
    const pool = new ChunkBufferPool(SIZE, 2);
    const first = pool.take();
    expect(first.length).toBe(SIZE);
    pool.give(first.buffer as ArrayBuffer);
    expect(pool.retained).toBe(1);
    expect(pool.take().buffer).toBe(first.buffer);
    expect(pool.retained).toBe(0);
  });

  it('keeps at most maxRetained spares and refuses memory of another size', () => {
    const pool = new ChunkBufferPool(SIZE, 2);
    const buffers = [pool.take(), pool.take(), pool.take()];
    for (const buffer of buffers) pool.give(buffer.buffer as ArrayBuffer);
    pool.give(new ArrayBuffer(SIZE + 1));
    expect(pool.retained).toBe(2);
  });

  it('never hands out a slice of a shared allocation', () => {
    const buffer = new ChunkBufferPool(16, 1).take();
    expect(buffer.byteOffset).toBe(0);
    expect(buffer.buffer.byteLength).toBe(16);
  });
});

describe('StreamBuffers', () => {
  it('lends nothing from the pool until lending starts', () => {
    const pool = new ChunkBufferPool(SIZE, 4);
    const buffers = new StreamBuffers(pool, 4);
    const fresh = buffers.take(100);
    expect(fresh.length).toBe(100);
    buffers.giveBack(fresh);
    expect(pool.retained).toBe(0);
  });

  it('lends pooled buffers, takes each back once, and ignores chunks it did not lend', () => {
    const pool = new ChunkBufferPool(SIZE, 4);
    const buffers = new StreamBuffers(pool, 4);
    buffers.startLending();
    const lent = buffers.take(100);
    expect(lent.length).toBe(SIZE);
    buffers.giveBack(lent.subarray(0, 100));
    buffers.giveBack(lent);
    buffers.giveBack(Buffer.allocUnsafeSlow(SIZE));
    expect(pool.retained).toBe(1);
  });

  it('falls back to fresh buffers beyond maxLent, or for reads larger than the pool buffers', () => {
    const pool = new ChunkBufferPool(SIZE, 8);
    const buffers = new StreamBuffers(pool, 2);
    buffers.startLending();
    const [a, b, c] = [buffers.take(SIZE), buffers.take(SIZE), buffers.take(SIZE)];
    const big = buffers.take(SIZE + 1);
    expect(big.length).toBe(SIZE + 1);
    for (const chunk of [a, b, c, big]) buffers.giveBack(chunk);
    // Only the two lent buffers come back: the fresh ones were never the pool's.
    expect(pool.retained).toBe(2);
    expect(new Set([a.buffer, b.buffer, c.buffer]).size).toBe(3);
  });
});

describe('findSegmentIndex', () => {
  it('finds the segment holding each position, past empty segments', () => {
    const lengths = [3, 0, 5, 1, 0, 0, 4];
    const segments: Segment[] = lengths.map((n) => ({ kind: 'bytes', data: Buffer.alloc(n) }));
    const starts = segmentStarts(segments);
    expect(starts).toEqual([0, 3, 3, 8, 9, 9, 9]);
    // Independent answer: walk the lengths, keep the non-empty segment that covers the position.
    const owner = (position: number): number => {
      let start = 0;
      for (const [index, length] of lengths.entries()) {
        if (position >= start && position < start + length) return index;
        start += length;
      }
      return -1;
    };
    for (let position = 0; position < 13; position += 1) {
      expect(findSegmentIndex(starts, position)).toBe(owner(position));
    }
  });
});
