/**
 * A download assembled from segments: a cached file with small patches written over it (a
 * customised ISO) or a concatenation of file slices and in-memory payloads (a PXE initrd).
 * Nothing is materialised: `createReadStream` reads the pieces a byte range needs, on demand.
 */
import { addAbortSignal } from 'node:stream';
import { ChunkBufferPool } from './segment-stream-buffers.js';
import { SegmentStream, segmentLength, segmentStarts, type Segment } from './segment-stream.js';
import type { ByteRange } from './byte-range.js';

export type { Segment } from './segment-stream.js';

/** Write `data` at `offset` of the base region (offsets are relative to the region start). */
export interface Patch {
  readonly offset: number;
  readonly data: Buffer;
}

/** Write `zeros` zero bytes at `offset`: served from a shared buffer, so clearing an area costs no memory per file. */
export interface ZeroFill {
  readonly offset: number;
  readonly zeros: number;
}

/** What an overlay writes over its base. */
export type Overwrite = Patch | ZeroFill;

export function overwriteLength(overwrite: Overwrite): number {
  return 'data' in overwrite ? overwrite.data.length : overwrite.zeros;
}

/** `size` bytes of `path` starting at `offset` (default 0). */
export interface OverlayBase {
  readonly path: string;
  readonly size: number;
  readonly offset?: number;
}

export interface StreamOptions {
  /** Largest single file read and buffer; default 256 KiB. */
  readonly chunkSize?: number;
  /** Aborting destroys the stream (and so closes its files). */
  readonly signal?: AbortSignal;
}

/**
 * 256 KiB: past this, larger reads save few syscalls but multiply the memory of concurrent downloads (a stream
 * holds about three chunks) and the time to a first byte; far below it, syscalls and callbacks per byte dominate.
 */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

/**
 * Read buffers shared by every stream of the default chunk size, for consumers that give chunks back
 * (`SegmentStream.consumerRecycles`). Only spares are kept here, at most 32 (8 MiB); buffers in use belong to their
 * streams.
 */
const DEFAULT_CHUNK_BUFFERS = new ChunkBufferPool(DEFAULT_CHUNK_SIZE, 32);

/** A patch that cannot be applied: outside the region, out of order, or overlapping another. */
export class OverlayPatchError extends RangeError {
  override readonly name = 'OverlayPatchError';

  constructor(
    readonly patchIndex: number,
    readonly patchOffset: number,
    readonly patchLength: number,
    reason: string,
  ) {
    super(`Patch #${patchIndex} at offset ${patchOffset} (${patchLength} bytes) ${reason}`);
  }
}

/** A segment, base region or stream argument that is not a valid non-negative integer quantity. */
export class VirtualFileArgumentError extends RangeError {
  override readonly name = 'VirtualFileArgumentError';
}

/**
 * `content` at the start of the `length`-byte area at `offset`, zeros after it: the whole area is rewritten, so
 * nothing of what was there shows through. The caller has checked that `content` fits.
 */
export function fillArea(offset: number, length: number, content: Buffer): Overwrite[] {
  if (content.length > length) {
    throw new VirtualFileArgumentError(`${content.length} bytes of content do not fit a ${length}-byte area`);
  }
  const zeros = length - content.length;
  return zeros === 0
    ? [{ offset, data: content }]
    : [
        { offset, data: content },
        { offset: offset + content.length, zeros },
      ];
}

export class VirtualFile {
  readonly size: number;
  private readonly starts: readonly number[];

  private constructor(readonly segments: readonly Segment[]) {
    this.starts = segmentStarts(segments);
    this.size = segments.reduce((total, segment) => total + segmentLength(segment), 0);
  }

  /** The segments one after the other; empty ones are dropped. */
  static concat(segments: readonly Segment[]): VirtualFile {
    segments.forEach(assertValidSegment);
    // Copied so that a caller mutating its segment objects cannot desynchronise `size`.
    const kept = segments.filter((s) => segmentLength(s) > 0).map((s) => Object.freeze({ ...s }));
    return new VirtualFile(Object.freeze(kept));
  }

  /**
   * The base region with the patches (and zero-fills) written over it; same size as the region. They must be
   * sorted by offset, must not overlap and must lie inside the region.
   */
  static overlay(base: OverlayBase, patches: readonly Overwrite[]): VirtualFile {
    const baseOffset = base.offset ?? 0;
    assertCount('base offset', baseOffset);
    assertCount('base size', base.size);
    validatePatches(patches, base.size);
    return VirtualFile.concat(overlaySegments(base.path, baseOffset, base.size, patches));
  }

  /** Streams bytes [start, end] (inclusive, like HTTP ranges); the whole file by default. */
  createReadStream(range?: ByteRange, options: StreamOptions = {}): SegmentStream {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
      throw new VirtualFileArgumentError(`chunkSize must be a positive integer, got ${chunkSize}`);
    }
    const [start, end] = range === undefined ? [0, this.size] : this.checkedBounds(range);
    const buffers = chunkSize === DEFAULT_CHUNK_SIZE ? DEFAULT_CHUNK_BUFFERS : undefined;
    const stream = new SegmentStream({
      segments: this.segments,
      starts: this.starts,
      start,
      end,
      chunkSize,
      ...(buffers && { buffers }),
    });
    return options.signal === undefined ? stream : addAbortSignal(options.signal, stream);
  }

  /** [start, end) of an inclusive range that must lie inside the file. */
  private checkedBounds(range: ByteRange): [number, number] {
    const { start, end } = range;
    const valid =
      Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end < this.size;
    if (!valid) {
      throw new VirtualFileArgumentError(`Range ${start}-${end} is not inside a file of ${this.size} bytes`);
    }
    return [start, end + 1];
  }
}

function overlaySegments(path: string, baseOffset: number, size: number, patches: readonly Overwrite[]): Segment[] {
  const segments: Segment[] = [];
  let cursor = 0;
  for (const patch of patches) {
    segments.push({ kind: 'file', path, offset: baseOffset + cursor, length: patch.offset - cursor });
    segments.push('data' in patch ? { kind: 'bytes', data: patch.data } : { kind: 'zeros', length: patch.zeros });
    cursor = patch.offset + overwriteLength(patch);
  }
  segments.push({ kind: 'file', path, offset: baseOffset + cursor, length: size - cursor });
  return segments;
}

function validatePatches(patches: readonly Overwrite[], size: number): void {
  let previousOffset = 0;
  let previousEnd = 0;
  patches.forEach((patch, index) => {
    const { offset } = patch;
    const length = overwriteLength(patch);
    const fail = (reason: string): never => {
      throw new OverlayPatchError(index, offset, length, reason);
    };
    if (!Number.isSafeInteger(offset) || offset < 0) fail('has an invalid offset');
    if (!Number.isSafeInteger(length) || length < 0) fail('has an invalid length');
    if (offset + length > size) fail(`extends past the ${size}-byte base region`);
    if (offset < previousOffset) {
      fail(`comes before patch #${index - 1} at offset ${previousOffset}: patches must be sorted by offset`);
    }
    if (offset < previousEnd) fail(`overlaps patch #${index - 1}, which ends at offset ${previousEnd}`);
    previousOffset = offset;
    previousEnd = offset + length;
  });
}

function assertValidSegment(segment: Segment, index: number): void {
  if (segment.kind === 'bytes') return;
  if (segment.kind === 'file') assertCount(`segment #${index} offset`, segment.offset);
  assertCount(`segment #${index} length`, segment.length);
}

function assertCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new VirtualFileArgumentError(`${what} must be a non-negative integer, got ${value}`);
  }
}
