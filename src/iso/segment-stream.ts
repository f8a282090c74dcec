/** A byte-mode Readable over segments; memory stays O(chunk): file data is read when the consumer asks for more. */
import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';

export type OpenFile = { readonly fd: number };
/** Who opens the files a download reads (docs/architecture.md): `release` each acquired file once, whatever happened. */
export type FileAccess = { acquire(path: string): OpenFile; release(file: OpenFile): void };

export type Segment =
  | { readonly kind: 'file'; readonly path: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'bytes'; readonly data: Buffer }
  | { readonly kind: 'zeros'; readonly length: number };

type Span = { segments: readonly Segment[]; starts: readonly number[]; start: number; end: number; files: FileAccess };
type Plan = Span & { chunkSize: number };
type FileChunk = { path: string; position: number; length: number };

/** 256 KiB: larger reads save few syscalls but multiply memory and time to first byte; smaller ones cost syscalls. */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
/** Zero chunks are views of this buffer: nothing writes into a chunk it was given, and `giveBack` ignores them. */
const SHARED_ZEROS = Buffer.alloc(DEFAULT_CHUNK_SIZE);
/** A consumer that gives chunks back holds about three: buffered, being written, being read. */
const MAX_LENT_BUFFERS = 4;

export function segmentLength(segment: Segment): number {
  return segment.kind === 'bytes' ? segment.data.length : segment.length;
}

export function segmentStarts(segments: readonly Segment[]): number[] {
  let offset = 0;
  return segments.map((segment) => (offset += segmentLength(segment)) - segmentLength(segment));
}

/** Index of the last segment starting at or before `position` (empty segments are skipped past). */
export function findSegmentIndex(starts: readonly number[], position: number): number {
  return starts.findLastIndex((start) => start <= position);
}

/** Read buffers used again, not left to V8's collector (see docs/architecture.md); each comes back once it is done. */
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

/** One stream's read buffers: pooled only once lending starts, at most `maxLent` at once, each taken back once. */
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
    if (pool === undefined || !this.lending || length > pool.bufferSize || lent.size >= this.maxLent)
      return Buffer.allocUnsafe(length);
    const buffer = pool.take();
    lent.add(buffer.buffer as ArrayBuffer);
    return buffer;
  }

  giveBack(chunk: Uint8Array): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (this.lent.delete(memory)) this.pool?.give(memory);
  }
}

export class TruncatedFileError extends Error {
  override readonly name = 'TruncatedFileError';

  constructor(
    readonly path: string,
    readonly expectedEnd: number,
    readonly actualEnd: number,
  ) {
    const needed = `bytes up to ${expectedEnd} were needed (was it truncated or replaced while streaming?)`;
    super(`File ${path} ended at byte ${actualEnd} but ${needed}`);
  }
}

export class SegmentStream extends Readable {
  /** Opened synchronously: microseconds on a local disk, where each async call costs a thread-pool trip. */
  private readonly descriptors = new Map<string, OpenFile>();
  /** pumpSegments lends these out and gives them back; chunks of in-memory segments are never lent. */
  readonly buffers: StreamBuffers;
  private readonly remaining: Iterator<Buffer | FileChunk, undefined>;
  private reading = false;
  /** `_destroy` waits for it: a descriptor closed under a pending read could be reused by another open. */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly plan: Plan) {
    // At one chunk, push() reports "full" after each file chunk, so at most about two chunks are buffered.
    super({ highWaterMark: plan.chunkSize });
    this.remaining = pieces(plan, plan.chunkSize);
    const pool = plan.chunkSize === DEFAULT_CHUNK_SIZE ? DEFAULT_POOL : undefined;
    this.buffers = new StreamBuffers(pool, MAX_LENT_BUFFERS);
  }

  override _read(): void {
    if (this.reading) return;
    const chunk = this.remaining.next().value;
    if (chunk === undefined || Buffer.isBuffer(chunk)) this.push(chunk ?? null);
    else {
      this.reading = true;
      this.inFlight = this.readFileChunk(chunk);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.inFlight.then(() => this.closeFiles()).then((closeError) => callback(error ?? closeError ?? null));
  }

  private async readFileChunk({ path, position, length }: FileChunk): Promise<void> {
    const chunk = this.buffers.take(length).subarray(0, length);
    let handedOut = false;
    try {
      let file = this.descriptors.get(path);
      if (file === undefined) this.descriptors.set(path, (file = this.plan.files.acquire(path)));
      await readFully(file.fd, path, chunk, position);
      if (this.destroyed) return;
      // Cleared before push: push may call _read synchronously.
      this.reading = false;
      handedOut = true;
      this.push(chunk);
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      if (!handedOut) this.buffers.giveBack(chunk);
    }
  }

  private closeFiles(): Error | undefined {
    let failure: Error | undefined;
    for (const file of this.descriptors.values()) {
      try {
        this.plan.files.release(file);
      } catch (error) {
        failure ??= error as Error;
      }
    }
    this.descriptors.clear();
    return failure;
  }
}

/** Bytes [start, end) in pieces of at most `chunkSize`: the bytes themselves, or where in a file to read them. */
function* pieces({ segments, starts, start, end }: Span, chunkSize: number): Generator<Buffer | FileChunk, undefined> {
  for (let index = findSegmentIndex(starts, start), position = start; position < end; index++) {
    const [segment, segmentStart] = [segments[index], starts[index]];
    if (segment === undefined || segmentStart === undefined) throw new RangeError(`no segment holds byte ${position}`);
    const segmentEnd = Math.min(segmentStart + segmentLength(segment), end);
    for (let length = 0; position < segmentEnd; position += length) {
      const within = position - segmentStart;
      length = Math.min(chunkSize, segmentEnd - position);
      if (segment.kind === 'bytes') yield segment.data.subarray(within, within + length);
      else if (segment.kind === 'file') yield { path: segment.path, position: segment.offset + within, length };
      else yield length <= SHARED_ZEROS.length ? SHARED_ZEROS.subarray(0, length) : Buffer.alloc(length);
    }
  }
}

/** Bytes [start, end) of `segments` in one buffer (`into`'s start when given): a short range needs no stream. */
export async function readSpan(span: Span, into?: Buffer): Promise<Buffer> {
  const length = span.end - span.start;
  const buffer = into === undefined ? Buffer.allocUnsafe(length) : into.subarray(0, length);
  if (buffer.length < length) throw new RangeError(`a ${into?.length}-byte buffer cannot hold ${length} bytes`);
  let at = 0;
  for (const piece of pieces(span, Infinity)) {
    if (Buffer.isBuffer(piece)) piece.copy(buffer, at);
    else {
      const file = span.files.acquire(piece.path);
      const target = buffer.subarray(at, at + piece.length);
      await readFully(file.fd, piece.path, target, piece.position).finally(() => span.files.release(file));
    }
    at += piece.length;
  }
  return buffer;
}

/** Fills `into` from `position` of `path`, open as `fd`; `fs.read` is looked up at call time so tests can observe it. */
async function readFully(fd: number, path: string, into: Buffer, position: number): Promise<void> {
  for (let filled = 0; filled < into.length;) {
    const bytesRead = await new Promise<number>((resolve, reject) => {
      fs.read(fd, into, filled, into.length - filled, position + filled, (error, read) =>
        error === null ? resolve(read) : reject(error),
      );
    });
    if (bytesRead === 0) throw new TruncatedFileError(path, position + into.length, position + filled);
    filled += bytesRead;
  }
}

/** Like `pipe()`, but each write's callback gives the chunk back to the pool; errors and teardown are the caller's. */
export function pumpSegments(source: SegmentStream, sink: Writable, progress = { chunksWritten: 0 }): void {
  source.buffers.startLending();
  let waitingForDrain = false;
  source.on('data', (chunk: Buffer) => {
    const roomForMore = sink.write(chunk, () => {
      source.buffers.giveBack(chunk);
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
