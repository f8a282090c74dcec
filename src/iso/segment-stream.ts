/**
 * A byte-mode Readable over a list of segments (file slices, in-memory bytes, zeros). Memory stays
 * O(chunk): file data is read in positioned chunks only when the consumer asks for more, and the
 * start of a range is located by binary search instead of reading and discarding.
 */
import { Readable } from 'node:stream';
import { StreamBuffers, type ChunkBufferPool } from './segment-stream-buffers.js';
import { FileHandlePool, asError, readExactly } from './segment-stream-files.js';

export type Segment =
  /** Bytes [offset, offset + length) of a file on disk. */
  | { readonly kind: 'file'; readonly path: string; readonly offset: number; readonly length: number }
  /** Bytes held in memory (payloads, patches). */
  | { readonly kind: 'bytes'; readonly data: Buffer }
  /** `length` zero bytes: an area cleared without a buffer of zeros of its own per customisation. */
  | { readonly kind: 'zeros'; readonly length: number };

export function segmentLength(segment: Segment): number {
  return segment.kind === 'bytes' ? segment.data.length : segment.length;
}

/**
 * Zero chunks are views of this one buffer, shared by every stream. Nothing writes into a chunk it was pushed
 * (in-memory segments are shared between requests the same way), and `recycle` ignores chunks it did not lend.
 */
const SHARED_ZEROS = Buffer.alloc(256 * 1024);

function zeroChunk(length: number): Buffer {
  return length <= SHARED_ZEROS.length ? SHARED_ZEROS.subarray(0, length) : Buffer.alloc(length);
}

/** Virtual offset at which each segment starts (prefix sums of the lengths). */
export function segmentStarts(segments: readonly Segment[]): number[] {
  const starts: number[] = [];
  let offset = 0;
  for (const segment of segments) {
    starts.push(offset);
    offset += segmentLength(segment);
  }
  return starts;
}

/**
 * Index of the segment holding `position`: the last one starting at or before it. `starts`
 * must be ascending and begin at 0; empty segments (equal starts) are skipped past.
 */
export function findSegmentIndex(starts: readonly number[], position: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((starts[middle] ?? 0) <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** What a stream reads: bytes [start, end) of the concatenated segments, in chunks. */
export interface SegmentStreamPlan {
  readonly segments: readonly Segment[];
  readonly starts: readonly number[];
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  readonly chunkSize: number;
  /** Where file chunks are read when the consumer gives them back (`consumerRecycles`); fresh buffers otherwise. */
  readonly buffers?: ChunkBufferPool;
}

/**
 * Pooled buffers one stream may have out at once. A consumer that gives chunks back holds about three: one in the
 * stream's buffer, one being written, one being read. Past this the stream reads into fresh buffers.
 */
const MAX_LENT_BUFFERS = 4;

type Chunk =
  | { readonly kind: 'bytes'; readonly data: Buffer }
  | { readonly kind: 'file'; readonly path: string; readonly position: number; readonly length: number };

export class SegmentStream extends Readable {
  private readonly files = new FileHandlePool();
  private readonly buffers: StreamBuffers;
  private position: number;
  private index: number;
  private reading = false;
  /** The current file read; `_destroy` waits for it so that no descriptor is closed under a pending read. */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly plan: SegmentStreamPlan) {
    // With the high-water mark at one chunk, push() reports "full" after each file chunk, so at
    // most about two chunks are ever buffered.
    super({ highWaterMark: plan.chunkSize });
    this.position = plan.start;
    this.index = plan.start < plan.end ? findSegmentIndex(plan.starts, plan.start) : 0;
    this.buffers = new StreamBuffers(plan.buffers, MAX_LENT_BUFFERS);
  }

  /**
   * The consumer promises to call `recycle(chunk)` for the chunks it gets, once nothing uses them any more (for a
   * socket: in the write callback). File chunks are then read into pooled buffers that come back that way.
   */
  consumerRecycles(): this {
    this.buffers.startLending();
    return this;
  }

  /**
   * Gives a chunk of this stream back for its buffer to be read into again. Only call it when nothing refers to
   * the chunk's bytes any more. Chunks of in-memory segments, fresh buffers and unknown chunks are ignored.
   */
  recycle(chunk: Uint8Array): void {
    this.buffers.giveBack(chunk);
  }

  override _read(): void {
    // Readable never calls _read before the previous one pushed; this guard keeps the
    // one-read-in-flight rule independent of that contract.
    if (this.reading) return;
    const chunk = this.nextChunk();
    if (chunk === undefined) this.push(null);
    else if (chunk.kind === 'bytes') this.push(chunk.data);
    else {
      this.reading = true;
      this.inFlight = this.readFileChunk(chunk);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.releaseFiles().then((closeError) => callback(error ?? closeError ?? null));
  }

  /** Plans the next chunk and advances the cursor past it; undefined at the end of the range. */
  private nextChunk(): Chunk | undefined {
    const { segments, starts, end, chunkSize } = this.plan;
    if (this.position >= end) return undefined;
    const segment = segments[this.index];
    const segmentStart = starts[this.index];
    if (segment === undefined || segmentStart === undefined) return undefined;
    const segmentEnd = segmentStart + segmentLength(segment);
    if (this.position >= segmentEnd) {
      // Only reached past an empty segment: move on rather than push an empty chunk.
      this.index += 1;
      return this.nextChunk();
    }
    const within = this.position - segmentStart;
    const length = Math.min(chunkSize, segmentEnd - this.position, end - this.position);
    this.position += length;
    switch (segment.kind) {
      case 'bytes':
        return { kind: 'bytes', data: segment.data.subarray(within, within + length) };
      case 'zeros':
        return { kind: 'bytes', data: zeroChunk(length) };
      case 'file':
        return { kind: 'file', path: segment.path, position: segment.offset + within, length };
    }
  }

  private async readFileChunk(chunk: Chunk & { kind: 'file' }): Promise<void> {
    const buffer = this.buffers.take(chunk.length);
    let handedOut = false;
    try {
      const fd = this.files.get(chunk.path);
      await readExactly(fd, chunk.path, chunk.position, buffer, chunk.length);
      if (this.destroyed) return;
      // Cleared before push: push may call _read synchronously, which must not be ignored.
      this.reading = false;
      handedOut = true;
      this.push(buffer.length === chunk.length ? buffer : buffer.subarray(0, chunk.length));
    } catch (error) {
      this.destroy(asError(error));
    } finally {
      // The read has settled either way, so nothing else writes into a buffer that was not handed out.
      if (!handedOut) this.buffers.unused(buffer);
    }
  }

  private async releaseFiles(): Promise<Error | undefined> {
    await this.inFlight;
    return this.files.closeAll();
  }
}
