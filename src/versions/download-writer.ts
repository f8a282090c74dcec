import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** Size of each of the writer's two blocks: big enough for few system calls, small enough to keep. */
export const BLOCK_SIZE = 1024 * 1024;

export type ProgressListener = (bytesDone: number, bytesTotal: number | undefined) => void;

/** Counts (and, when there is a checksum to verify, hashes) the bytes on their way to disk, and reports progress. */
export class ByteMeter {
  private readonly hash: Hash | undefined;

  /** `bytes` starts at the size of a partial file a resumed download continues. */
  constructor(
    private readonly total: number | undefined,
    private readonly onProgress: ProgressListener,
    hashing: boolean,
    public bytes = 0,
  ) {
    this.hash = hashing ? createHash('sha256') : undefined;
  }

  get hashing(): boolean {
    return this.hash !== undefined;
  }

  add(bytes: Buffer): void {
    this.bytes += bytes.length;
    this.hash?.update(bytes);
    this.onProgress(this.bytes, this.total);
  }

  /** Feeds the first `length` bytes already on disk into the hash: the checksum covers the whole file. */
  async hashExisting(file: FileHandle, length: number): Promise<void> {
    if (this.hash === undefined) return;
    const block = Buffer.allocUnsafeSlow(BLOCK_SIZE);
    for (let position = 0; position < length;) {
      const { bytesRead } = await file.read(block, 0, Math.min(BLOCK_SIZE, length - position), position);
      if (bytesRead === 0) throw new Error(`the partial file ended at ${position} of ${length} bytes`);
      this.hash.update(block.subarray(0, bytesRead));
      position += bytesRead;
    }
  }

  digest(): string | undefined {
    return this.hash?.digest('hex');
  }
}

/**
 * Writes a download to its file in blocks from two buffers: one is filled (or read into) while the other is being
 * written. A block is filled again only after its previous write finished.
 */
export class BlockWriter {
  private readonly blocks = [Buffer.allocUnsafeSlow(BLOCK_SIZE), Buffer.allocUnsafeSlow(BLOCK_SIZE)] as const;
  private current: 0 | 1 = 0;
  private filled = 0;
  private pendingWrite: Promise<void> = Promise.resolve();

  /** `position` is where writing starts: the end of the partial file when a download resumes. */
  constructor(
    private readonly file: FileHandle,
    private readonly meter: ByteMeter,
    private position = 0,
  ) {}

  /** The free part of the current block, to read into; then `commit` how much was put there. */
  space(): Buffer {
    return this.blocks[this.current].subarray(this.filled);
  }

  async commit(length: number): Promise<void> {
    const block = this.blocks[this.current];
    this.meter.add(block.subarray(this.filled, this.filled + length));
    this.filled += length;
    if (this.filled === BLOCK_SIZE) await this.writeBlock();
  }

  /** Copies a chunk in; the chunk is not kept. */
  async append(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length;) {
      const copied = chunk.copy(this.space(), 0, offset);
      offset += copied;
      await this.commit(copied);
    }
  }

  /** Writes what is left and waits for every write. */
  async finish(): Promise<void> {
    if (this.filled > 0) await this.writeBlock();
    await this.pendingWrite;
  }

  /** After a failure: waits for a write in flight, so the file is not closed under it. */
  async settle(): Promise<void> {
    await this.pendingWrite.catch(() => undefined);
  }

  private async writeBlock(): Promise<void> {
    const [block, length, position] = [this.blocks[this.current], this.filled, this.position];
    // The other block's write must be done before it is filled again; waiting here also keeps writes in order.
    await this.pendingWrite;
    this.pendingWrite = writeFully(this.file, block, length, position);
    this.pendingWrite.catch(() => undefined); // observed by the next writeBlock, finish or settle
    this.position += length;
    this.filled = 0;
    this.current = this.current === 0 ? 1 : 0;
  }
}

async function writeFully(file: FileHandle, block: Buffer, length: number, position: number): Promise<void> {
  for (let written = 0; written < length;) {
    const { bytesWritten } = await file.write(block, written, length - written, position + written);
    written += bytesWritten;
  }
}
