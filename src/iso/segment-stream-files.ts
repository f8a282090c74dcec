/**
 * File access for a segment stream: one lazily opened descriptor per path, closed exactly once, and
 * positioned reads that either fill their buffer or fail.
 *
 * Opening and closing are synchronous: on a local file system they are system calls of a few microseconds, while
 * their asynchronous forms each cost a round trip through the libuv thread pool (a wake-up of a worker thread,
 * then a callback and a promise back on the main thread). For a 64 KiB Range request that round trip, twice,
 * was about a sixth of its CPU. Reads stay asynchronous: they may have to wait for the disk.
 */
import fs from 'node:fs';

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

/** Tried to open a file after the stream released its handles. */
export class FileHandlePoolClosedError extends Error {
  override readonly name = 'FileHandlePoolClosedError';

  constructor(readonly path: string) {
    super(`Cannot open ${path}: the stream's file handles are already closed`);
  }
}

/**
 * Opens each path once and shares the descriptor between segments. The owner must not call `closeAll` while a
 * read is in flight: a descriptor number closed under a pending read could be reused by another open.
 */
export class FileHandlePool {
  private readonly descriptors = new Map<string, number>();
  private closed = false;

  /** The descriptor of `path`, opened read-only on first use; throws if it cannot be opened. */
  get(path: string): number {
    if (this.closed) throw new FileHandlePoolClosedError(path);
    let fd = this.descriptors.get(path);
    if (fd === undefined) {
      fd = fs.openSync(path, 'r');
      this.descriptors.set(path, fd);
    }
    return fd;
  }

  /** Closes every descriptor; returns the first close failure, if any. */
  closeAll(): Error | undefined {
    this.closed = true;
    let failure: Error | undefined;
    for (const fd of this.descriptors.values()) {
      try {
        fs.closeSync(fd);
      } catch (error) {
        failure ??= asError(error);
      }
    }
    this.descriptors.clear();
    return failure;
  }
}

/** One positioned read; `fs.read` is looked up at call time so tests can observe it. */
function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, offset, length, position, (error, bytesRead) =>
      error === null ? resolve(bytesRead) : reject(error),
    );
  });
}

/**
 * Reads exactly `length` bytes at `position` into the start of `buffer`. Short reads are retried; end of file
 * before `length` is an error rather than short data.
 */
export async function readExactly(
  fd: number,
  path: string,
  position: number,
  buffer: Buffer,
  length: number,
): Promise<void> {
  let filled = 0;
  while (filled < length) {
    const bytesRead = await readAt(fd, buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new TruncatedFileError(path, position + length, position + filled);
    filled += bytesRead;
  }
}

export function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
