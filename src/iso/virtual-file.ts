/**
 * A download assembled from segments: a cached file with small patches written over it (a customised ISO), or file
 * slices and in-memory payloads one after the other (a PXE initrd). Nothing is materialised: a read stream reads what
 * its byte range needs, on demand.
 */
import { addAbortSignal } from 'node:stream';
import { DEFAULT_CHUNK_SIZE, SegmentStream, segmentLength, segmentStarts, type Segment } from './segment-stream.js';

/** An inclusive byte range, as in HTTP `Range` (`bytes=0-0` is one byte). */
type ByteRange = { readonly start: number; readonly end: number };

export type Patch = { readonly offset: number; readonly data: Buffer };
/**
 * What an overlay writes over its base, at offsets relative to the base region: bytes, or zeros, which are served
 * from a shared buffer so that clearing an area costs no memory per download.
 */
export type Overwrite = Patch | { readonly offset: number; readonly zeros: number };
/** `size` bytes of `path` from `offset` (default 0). */
type OverlayBase = { readonly path: string; readonly size: number; readonly offset?: number };
/** `chunkSize`: the largest single read and buffer. Aborting `signal` destroys the stream, which closes its files. */
type StreamOptions = { readonly chunkSize?: number; readonly signal?: AbortSignal };

/** A patch outside the region, out of order, or overlapping another. */
export class OverlayPatchError extends RangeError {
  override readonly name = 'OverlayPatchError';

  constructor(
    readonly patchIndex: number,
    offset: number,
    length: number,
    reason: string,
  ) {
    super(`Patch #${patchIndex} at offset ${offset} (${length} bytes) ${reason}`);
  }
}

/** A segment, base region or stream argument that is not a valid non-negative integer quantity. */
export class VirtualFileArgumentError extends RangeError {
  override readonly name = 'VirtualFileArgumentError';
}

/** `content` at the start of the `length`-byte area at `offset`, zeros after it, so nothing old shows through. */
export function fillArea(offset: number, length: number, content: Buffer): Overwrite[] {
  if (content.length > length) {
    throw new VirtualFileArgumentError(`${content.length} bytes of content do not fit a ${length}-byte area`);
  }
  const fill = { offset: offset + content.length, zeros: length - content.length };
  return fill.zeros === 0 ? [{ offset, data: content }] : [{ offset, data: content }, fill];
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
    // Copied, so that a caller mutating its segment objects cannot desynchronise `size`.
    const kept = segments.filter((s) => segmentLength(s) > 0).map((s) => Object.freeze({ ...s }));
    return new VirtualFile(Object.freeze(kept));
  }

  /** The base region with `patches` (sorted by offset, not overlapping, inside the region) written over it. */
  static overlay({ path, size, offset: baseOffset = 0 }: OverlayBase, patches: readonly Overwrite[]): VirtualFile {
    assertCount('base offset', baseOffset);
    assertCount('base size', size);
    const segments: Segment[] = [];
    let [previousOffset, cursor] = [0, 0];
    patches.forEach((patch, index) => {
      const { offset } = patch;
      const length = 'data' in patch ? patch.data.length : patch.zeros;
      const fail = (reason: string): never => {
        throw new OverlayPatchError(index, offset, length, reason);
      };
      if (!Number.isSafeInteger(offset) || offset < 0) fail('has an invalid offset');
      if (!Number.isSafeInteger(length) || length < 0) fail('has an invalid length');
      if (offset + length > size) fail(`extends past the ${size}-byte base region`);
      if (offset < previousOffset) {
        fail(`comes before patch #${index - 1} at offset ${previousOffset}: patches must be sorted by offset`);
      }
      if (offset < cursor) fail(`overlaps patch #${index - 1}, which ends at offset ${cursor}`);
      segments.push({ kind: 'file', path, offset: baseOffset + cursor, length: offset - cursor });
      segments.push('data' in patch ? { kind: 'bytes', data: patch.data } : { kind: 'zeros', length });
      [previousOffset, cursor] = [offset, offset + length];
    });
    segments.push({ kind: 'file', path, offset: baseOffset + cursor, length: size - cursor });
    return VirtualFile.concat(segments);
  }

  /** Streams bytes [start, end] (inclusive, like HTTP ranges); the whole file by default. */
  createReadStream(range?: ByteRange, options: StreamOptions = {}): SegmentStream {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
      throw new VirtualFileArgumentError(`chunkSize must be a positive integer, got ${chunkSize}`);
    }
    const [start, end] = range === undefined ? [0, this.size] : this.checkedBounds(range);
    const stream = new SegmentStream({ segments: this.segments, starts: this.starts, start, end, chunkSize });
    return options.signal === undefined ? stream : addAbortSignal(options.signal, stream);
  }

  /** [start, end) of an inclusive range that must lie inside the file. */
  private checkedBounds({ start, end }: ByteRange): [number, number] {
    const valid =
      Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end < this.size;
    if (!valid) throw new VirtualFileArgumentError(`Range ${start}-${end} is not inside a file of ${this.size} bytes`);
    return [start, end + 1];
  }
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
