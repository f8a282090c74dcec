/**
 * A byte-mode Readable over a list of segments (file slices and in-memory bytes). Memory stays
 * O(chunk): file data is read in positioned chunks only when the consumer asks for more, and the
 * start of a range is located by binary search instead of reading and discarding.
 */
import { Readable } from 'node:stream';
import { FileHandlePool, asError, readExactly } from './segment-stream-files.js';

export type Segment =
  /** Bytes [offset, offset + length) of a file on disk. */
  | { readonly kind: 'file'; readonly path: string; readonly offset: number; readonly length: number }
  /** Bytes held in memory (payloads, patches). */
  | { readonly kind: 'bytes'; readonly data: Buffer };

export function segmentLength(segment: Segment): number {
  return segment.kind === 'file' ? segment.length : segment.data.length;
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
}

type Chunk =
  | { readonly kind: 'bytes'; readonly data: Buffer }
  | { readonly kind: 'file'; readonly path: string; readonly position: number; readonly length: number };

export class SegmentStream extends Readable {
  private readonly files = new FileHandlePool();
  private position: number;
  private index: number;
  private reading = false;
  /** The current file read; `_destroy` waits for it so a late handle or buffer is never lost. */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly plan: SegmentStreamPlan) {
    // With the high-water mark at one chunk, push() reports "full" after each file chunk, so at
    // most about two chunks are ever buffered.
    super({ highWaterMark: plan.chunkSize });
    this.position = plan.start;
    this.index = plan.start < plan.end ? findSegmentIndex(plan.starts, plan.start) : 0;
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
    return segment.kind === 'bytes'
      ? { kind: 'bytes', data: segment.data.subarray(within, within + length) }
      : { kind: 'file', path: segment.path, position: segment.offset + within, length };
  }

  private async readFileChunk(chunk: Chunk & { kind: 'file' }): Promise<void> {
    try {
      const handle = await this.files.get(chunk.path);
      if (this.destroyed) return;
      const data = await readExactly(handle, chunk.path, chunk.position, chunk.length);
      if (this.destroyed) return;
      // Cleared before push: push may call _read synchronously, which must not be ignored.
      this.reading = false;
      this.push(data);
    } catch (error) {
      this.destroy(asError(error));
    }
  }

  private async releaseFiles(): Promise<Error | undefined> {
    await this.inFlight;
    return this.files.closeAll();
  }
}
