/**
 * Read buffers that are used again instead of being left to the garbage collector. A download of 1 GB through
 * fresh buffers leaves 1 GB of dead `ArrayBuffer`s behind; V8 only notices them through its external-memory
 * limit and then runs full mark-compact collections of the whole heap, which cost more CPU than the copying
 * itself and let tens of MB of dead buffers pile up in RSS. A buffer comes back only when its consumer says it is
 * done with it (see `SegmentStream.recycle`), never on a guess.
 */

/** A free list of equal-sized buffers, keeping at most `maxRetained` of them while they are not in use. */
export class ChunkBufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    readonly bufferSize: number,
    readonly maxRetained: number,
  ) {}

  /** A buffer of `bufferSize` bytes with undefined content: a free one, or a new one. */
  take(): Buffer {
    const spare = this.free.pop();
    // allocUnsafeSlow: memory of its own, never a slice of Node's shared small-buffer pool.
    return spare === undefined ? Buffer.allocUnsafeSlow(this.bufferSize) : Buffer.from(spare, 0, this.bufferSize);
  }

  /** Hands memory back; the caller must hold no other reference to it that is still in use. */
  give(memory: ArrayBuffer): void {
    if (memory.byteLength !== this.bufferSize || this.free.length >= this.maxRetained) return;
    this.free.push(memory);
  }

  /** Buffers waiting to be taken. */
  get retained(): number {
    return this.free.length;
  }
}

/**
 * One stream's read buffers. Pooled buffers are lent only once the consumer has promised to give chunks back
 * (`startLending`), and never more than `maxLent` at a time: a consumer that forgets some cannot make the stream
 * hold on to more memory, it only makes the stream fall back to fresh buffers. Each lent buffer is taken back
 * at most once, so a chunk given back twice cannot put one buffer in the pool twice.
 */
export class StreamBuffers {
  private readonly lent = new Set<ArrayBuffer>();
  private lending = false;

  constructor(
    private readonly pool: ChunkBufferPool | undefined,
    private readonly maxLent: number,
  ) {}

  startLending(): void {
    this.lending = this.pool !== undefined;
  }

  /** A buffer of at least `length` bytes: pooled when lending and there is room, else a new one of `length`. */
  take(length: number): Buffer {
    const pool = this.pool;
    if (pool === undefined || !this.lending || length > pool.bufferSize || this.lent.size >= this.maxLent) {
      return Buffer.allocUnsafe(length);
    }
    const buffer = pool.take();
    this.lent.add(buffer.buffer as ArrayBuffer);
    return buffer;
  }

  /** A chunk the stream read and then did not hand out (it failed or was destroyed meanwhile). */
  unused(buffer: Buffer): void {
    this.giveBack(buffer);
  }

  /** Back to the pool if `chunk` views a buffer lent by this stream and not yet given back; else nothing. */
  giveBack(chunk: Uint8Array): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (this.pool !== undefined && this.lent.delete(memory)) this.pool.give(memory);
  }
}
