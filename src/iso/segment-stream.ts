/**
 * A byte-mode Readable over segments (file slices, in-memory bytes, zeros). Memory stays O(chunk): file data is read
 * in positioned chunks only when the consumer asks for more, and a range's start is found by binary search.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';

export type Segment =
  | { readonly kind: 'file'; readonly path: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'bytes'; readonly data: Buffer }
  | { readonly kind: 'zeros'; readonly length: number };

type Plan = { segments: readonly Segment[]; starts: readonly number[]; start: number; end: number; chunkSize: number };
type FileChunk = { path: string; position: number; length: number };

/**
 * 256 KiB: larger reads save few syscalls but multiply the memory of concurrent downloads (a stream holds about
 * three chunks) and the time to a first byte; far smaller ones spend their time in syscalls and callbacks.
 */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
/** Zero chunks are views of this buffer: nothing writes into a chunk it was given, and `recycle` ignores them. */
const SHARED_ZEROS = Buffer.alloc(DEFAULT_CHUNK_SIZE);
/** A consumer that gives chunks back holds about three: buffered, being written, being read. */
const MAX_LENT_BUFFERS = 4;

export function segmentLength(segment: Segment): number {
  return segment.kind === 'bytes' ? segment.data.length : segment.length;
}

/** Virtual offset at which each segment starts. */
export function segmentStarts(segments: readonly Segment[]): number[] {
  let offset = 0;
  return segments.map((segment) => (offset += segmentLength(segment)) - segmentLength(segment));
}

/** Index of the last segment starting at or before `position` (empty segments are skipped past). */
export function findSegmentIndex(starts: readonly number[], position: number): number {
  let [low, high] = [0, starts.length - 1];
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((starts[middle] ?? 0) <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * Read buffers used again instead of left to the garbage collector: 1 GB streamed through fresh buffers leaves 1 GB
 * of dead ArrayBuffers that V8 only notices through its external-memory limit, then collects with full mark-compacts
 * that cost more CPU than the copying. A buffer comes back only when its consumer says it is done with it.
 */
export class ChunkBufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    readonly bufferSize: number,
    readonly maxRetained: number,
  ) {}

  get retained(): number {
    return this.free.length;
  }

  /** allocUnsafeSlow: memory of its own, never a slice of Node's shared pool. */
  take(): Buffer {
    const spare = this.free.pop();
    return spare === undefined ? Buffer.allocUnsafeSlow(this.bufferSize) : Buffer.from(spare, 0, this.bufferSize);
  }

  give(memory: ArrayBuffer): void {
    if (memory.byteLength === this.bufferSize && this.free.length < this.maxRetained) this.free.push(memory);
  }
}

/** Spares shared by every stream of the default chunk size; buffers in use belong to their streams. */
const DEFAULT_POOL = new ChunkBufferPool(DEFAULT_CHUNK_SIZE, 32);

/**
 * One stream's read buffers. Pooled ones are lent only after the consumer promised to give chunks back, at most
 * `maxLent` at a time (a consumer that forgets some only makes the stream fall back to fresh buffers), and each is
 * taken back once, so a chunk given back twice cannot enter the pool twice.
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

  take(length: number): Buffer {
    const { pool, lent } = this;
    if (pool === undefined || !this.lending || length > pool.bufferSize || lent.size >= this.maxLent) {
      return Buffer.allocUnsafe(length);
    }
    const buffer = pool.take();
    lent.add(buffer.buffer as ArrayBuffer);
    return buffer;
  }

  giveBack(chunk: Uint8Array): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (this.lent.delete(memory)) this.pool?.give(memory);
  }
}

/** A file ended before the bytes a segment promised (truncated or replaced while streaming). */
export class TruncatedFileError extends Error {
  override readonly name = 'TruncatedFileError';

  constructor(
    readonly path: string,
    readonly expectedEnd: number,
    readonly actualEnd: number,
  ) {
    super(
      `File ${path} ended at byte ${actualEnd} but bytes up to ${expectedEnd} were needed ` +
        '(was it truncated or replaced while streaming?)',
    );
  }
}

export class SegmentStream extends Readable {
  /**
   * One descriptor per path, opened and closed synchronously: on a local disk these are microsecond system calls,
   * while their async forms each cost a thread-pool round trip (a sixth of the CPU of a 64 KiB Range request).
   */
  private readonly descriptors = new Map<string, number>();
  private readonly buffers: StreamBuffers;
  private position: number;
  private index: number;
  private reading = false;
  /** `_destroy` waits for it: a descriptor closed under a pending read could be reused by another open. */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly plan: Plan) {
    // At one chunk, push() reports "full" after each file chunk, so at most about two chunks are buffered.
    super({ highWaterMark: plan.chunkSize });
    this.position = plan.start;
    this.index = plan.start < plan.end ? findSegmentIndex(plan.starts, plan.start) : 0;
    const pool = plan.chunkSize === DEFAULT_CHUNK_SIZE ? DEFAULT_POOL : undefined;
    this.buffers = new StreamBuffers(pool, MAX_LENT_BUFFERS);
  }

  /**
   * The consumer promises to `recycle(chunk)` each chunk once nothing uses it any more (for a socket: in the write
   * callback); file chunks are then read into pooled buffers.
   */
  consumerRecycles(): this {
    this.buffers.startLending();
    return this;
  }

  /** Chunks of in-memory segments, fresh buffers and unknown chunks are ignored. */
  recycle(chunk: Uint8Array): void {
    this.buffers.giveBack(chunk);
  }

  override _read(): void {
    if (this.reading) return;
    const chunk = this.nextChunk();
    if (chunk === undefined || Buffer.isBuffer(chunk)) this.push(chunk ?? null);
    else {
      this.reading = true;
      this.inFlight = this.readFileChunk(chunk);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.inFlight.then(() => {
      const closeError = this.closeFiles();
      callback(error ?? closeError ?? null);
    });
  }

  /** The next chunk's bytes, or where to read them; undefined at the end of the range. */
  private nextChunk(): Buffer | FileChunk | undefined {
    const { segments, starts, end, chunkSize } = this.plan;
    const [segment, segmentStart] = [segments[this.index], starts[this.index]];
    if (this.position >= end || segment === undefined || segmentStart === undefined) return undefined;
    const segmentEnd = segmentStart + segmentLength(segment);
    if (this.position >= segmentEnd) {
      this.index += 1;
      return this.nextChunk();
    }
    const within = this.position - segmentStart;
    const length = Math.min(chunkSize, segmentEnd - this.position, end - this.position);
    this.position += length;
    if (segment.kind === 'bytes') return segment.data.subarray(within, within + length);
    if (segment.kind === 'file') return { path: segment.path, position: segment.offset + within, length };
    return length <= SHARED_ZEROS.length ? SHARED_ZEROS.subarray(0, length) : Buffer.alloc(length);
  }

  private async readFileChunk({ path, position, length }: FileChunk): Promise<void> {
    const buffer = this.buffers.take(length);
    let handedOut = false;
    try {
      let fd = this.descriptors.get(path);
      if (fd === undefined) this.descriptors.set(path, (fd = fs.openSync(path, 'r')));
      for (let filled = 0; filled < length;) {
        const bytesRead = await readAt(fd, buffer, filled, length - filled, position + filled);
        if (bytesRead === 0) throw new TruncatedFileError(path, position + length, position + filled);
        filled += bytesRead;
      }
      if (this.destroyed) return;
      // Cleared before push: push may call _read synchronously.
      this.reading = false;
      handedOut = true;
      this.push(buffer.length === length ? buffer : buffer.subarray(0, length));
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      if (!handedOut) this.buffers.giveBack(buffer);
    }
  }

  /** Closes every descriptor; returns the first failure. */
  private closeFiles(): Error | undefined {
    let failure: Error | undefined;
    for (const fd of this.descriptors.values()) {
      try {
        fs.closeSync(fd);
      } catch (error) {
        failure ??= error as Error;
      }
    }
    this.descriptors.clear();
    return failure;
  }
}

/** `fs.read` is looked up at call time so that tests can observe it. */
function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, offset, length, position, (error, read) => (error === null ? resolve(read) : reject(error)));
  });
}

/** What the pump needs of its destination: a `Writable` or an `http.ServerResponse`. */
interface ChunkSink {
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  end(): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Writes `source` into `sink` the way `pipe()` does, but with a callback per write that gives the chunk back to the
 * stream (`pipe()` cannot tell when the sink is done with a chunk). Errors, and destroying the source when the sink
 * goes away, are left to the caller. `progress` counts the chunks the sink has taken, so that a watcher can tell a
 * sink that stopped taking any.
 */
export function pumpSegments(source: SegmentStream, sink: ChunkSink, progress = { chunksWritten: 0 }): void {
  source.consumerRecycles();
  let waitingForDrain = false;
  source.on('data', (chunk: Buffer) => {
    const roomForMore = sink.write(chunk, () => {
      source.recycle(chunk);
      progress.chunksWritten++;
    });
    if (roomForMore || waitingForDrain) return;
    waitingForDrain = true;
    source.pause();
    sink.once('drain', () => {
      waitingForDrain = false;
      source.resume();
    });
  });
  source.once('end', () => sink.end());
}
