/** A download assembled from segments, never materialised: a cached file with patches over it, or parts in a row. */
import fs from 'node:fs';
import { addAbortSignal } from 'node:stream';
import { DEFAULT_CHUNK_SIZE, SegmentStream, readSpan, type Segment } from './segment-stream.js';
import { segmentLength, segmentStarts, type FileAccess, type OpenFile } from './segment-stream.js';

/** An inclusive byte range, as in HTTP `Range` (`bytes=0-0` is one byte). */
export type ByteRange = { readonly start: number; readonly end: number };

export type Patch = { readonly offset: number; readonly data: Buffer };
/** Bytes, or zeros, which come from a shared buffer so that clearing an area costs no memory per download. */
export type Overwrite = Patch | { readonly offset: number; readonly zeros: number };
type OverlayBase = { readonly path: string; readonly size: number; readonly offset?: number };
/**
 * `chunkSize`: the largest single read and buffer. Aborting `signal` destroys the stream, which lets go of its files.
 * `files`: who opens them; by default the stream opens its own and closes them when it ends.
 */
type StreamOptions = { readonly chunkSize?: number; readonly signal?: AbortSignal; readonly files?: FileAccess };

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

export class VirtualFileArgumentError extends RangeError {
  override readonly name = 'VirtualFileArgumentError';
}

/** `content` at the start of the `length`-byte area at `offset`, zeros after it, so nothing old shows through. */
export function fillArea(offset: number, length: number, content: Buffer): Overwrite[] {
  if (content.length > length)
    throw new VirtualFileArgumentError(`${content.length} bytes of content do not fit a ${length}-byte area`);
  const fill = { offset: offset + content.length, zeros: length - content.length };
  return fill.zeros === 0 ? [{ offset, data: content }] : [{ offset, data: content }, fill];
}

/** A descriptor per reader, closed when the reader is done: for one-off reads, and the default. */
const OWN_DESCRIPTORS: FileAccess = {
  acquire: (path) => ({ fd: fs.openSync(path, 'r') }),
  release: (file) => fs.closeSync(file.fd),
};

export class VirtualFile {
  readonly size: number;
  private readonly starts: readonly number[];

  private constructor(readonly segments: readonly Segment[]) {
    this.starts = segmentStarts(segments);
    this.size = segments.reduce((total, segment) => total + segmentLength(segment), 0);
  }

  /** The segments one after the other; empty ones are dropped. */
  static concat(segments: readonly Segment[]): VirtualFile {
    segments.forEach((segment, index) => {
      if (segment.kind === 'file') assertCount(`segment #${index} offset`, segment.offset);
      if (segment.kind !== 'bytes') assertCount(`segment #${index} length`, segment.length);
    });
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
      const fail = (reason: string): Error => new OverlayPatchError(index, offset, length, reason);
      if (!Number.isSafeInteger(offset) || offset < 0) throw fail('has an invalid offset');
      if (!Number.isSafeInteger(length) || length < 0) throw fail('has an invalid length');
      if (offset + length > size) throw fail(`extends past the ${size}-byte base region`);
      if (offset < previousOffset)
        throw fail(`comes before patch #${index - 1} at offset ${previousOffset}: patches must be sorted by offset`);
      if (offset < cursor) throw fail(`overlaps patch #${index - 1}, which ends at offset ${cursor}`);
      segments.push({ kind: 'file', path, offset: baseOffset + cursor, length: offset - cursor });
      segments.push('data' in patch ? { kind: 'bytes', data: patch.data } : { kind: 'zeros', length });
      [previousOffset, cursor] = [offset, offset + length];
    });
    segments.push({ kind: 'file', path, offset: baseOffset + cursor, length: size - cursor });
    return VirtualFile.concat(segments);
  }

  /** Streams bytes [start, end] (inclusive, like HTTP ranges); the whole file by default. */
  createReadStream(range?: ByteRange, options: StreamOptions = {}): SegmentStream {
    const { chunkSize = DEFAULT_CHUNK_SIZE, signal, files = OWN_DESCRIPTORS } = options;
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)
      throw new VirtualFileArgumentError(`chunkSize must be a positive integer, got ${chunkSize}`);
    const [start, end] = range === undefined ? [0, this.size] : this.checkedBounds(range);
    const stream = new SegmentStream({ segments: this.segments, starts: this.starts, start, end, chunkSize, files });
    return signal === undefined ? stream : addAbortSignal(signal, stream);
  }

  /** Bytes [start, end] in one buffer, `into`'s start when given: for ranges short enough to hold whole. */
  read(range: ByteRange, files: FileAccess = OWN_DESCRIPTORS, into?: Buffer): Promise<Buffer> {
    const [start, end] = this.checkedBounds(range);
    return readSpan({ segments: this.segments, starts: this.starts, start, end, files }, into);
  }

  /** [start, end) of an inclusive range that must lie inside the file. */
  private checkedBounds({ start, end }: ByteRange): [number, number] {
    const valid =
      Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end < this.size;
    if (!valid) throw new VirtualFileArgumentError(`Range ${start}-${end} is not inside a file of ${this.size} bytes`);
    return [start, end + 1];
  }
}

function assertCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new VirtualFileArgumentError(`${what} must be a non-negative integer, got ${value}`);
}

interface Shared extends OpenFile {
  readonly path: string;
  readonly ino: number;
  readonly dev: number;
  readers: number;
  idleSince: number;
  /** No longer handed out: closed when its last reader lets go. */
  retired: boolean;
}

/**
 * One read-only descriptor per file for every reader at once (reads are positional), open while used and `idleMs` after.
 * The first reader after an idle spell checks that the path still names the same file (one stat): a file replaced or
 * removed on disk is then opened afresh (or fails as it would), while readers of the old one finish with it.
 */
export class SharedDescriptors implements FileAccess {
  private readonly open = new Map<string, Shared>();
  private readers = 0;

  constructor(private readonly idleMs = 60_000) {}

  /** Descriptors that new readers would get, and readers holding any descriptor: for tests. */
  get usage(): { readonly open: number; readonly readers: number } {
    return { open: this.open.size, readers: this.readers };
  }

  acquire(path: string): OpenFile {
    let shared = this.open.get(path);
    if (shared?.readers === 0 && !namesSameFile(shared)) this.retire(shared);
    if (shared === undefined || shared.retired) {
      const fd = fs.openSync(path, 'r');
      const { ino, dev } = fs.fstatSync(fd);
      shared = { fd, path, ino, dev, readers: 0, idleSince: 0, retired: false };
      this.open.set(path, shared);
    }
    shared.readers += 1;
    this.readers += 1;
    return shared;
  }

  release(file: OpenFile): void {
    const shared = file as Shared;
    shared.readers -= 1;
    this.readers -= 1;
    if (shared.readers > 0) return;
    shared.idleSince = Date.now();
    if (shared.retired) fs.closeSync(shared.fd);
  }

  /** Closes descriptors idle for `idleMs` and retires those whose path names another file now, or none. */
  sweep(now = Date.now()): void {
    for (const shared of this.open.values()) {
      const idle = shared.readers === 0 && now - shared.idleSince >= this.idleMs;
      if (idle || !namesSameFile(shared)) this.retire(shared);
    }
  }

  /** At shutdown: nothing is handed out any more; what is in use closes as its readers finish. */
  closeAll(): void {
    for (const shared of this.open.values()) this.retire(shared);
  }

  private retire(shared: Shared): void {
    this.open.delete(shared.path);
    shared.retired = true;
    if (shared.readers === 0) fs.closeSync(shared.fd);
  }
}

function namesSameFile(shared: Shared): boolean {
  const now = fs.statSync(shared.path, { throwIfNoEntry: false });
  return now !== undefined && now.ino === shared.ino && now.dev === shared.dev;
}
