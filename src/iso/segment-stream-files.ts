/**
 * File access for a segment stream: one lazily opened handle per path, closed exactly once, and
 * positioned reads that either fill their buffer or fail.
 */
import { open, type FileHandle } from 'node:fs/promises';

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
 * Opens each path once and shares the handle between segments. Handles are kept as promises so
 * that `closeAll` also closes a handle whose open() was still in flight when the stream died.
 */
export class FileHandlePool {
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private closed = false;

  get(path: string): Promise<FileHandle> {
    if (this.closed) return Promise.reject(new FileHandlePoolClosedError(path));
    let handle = this.handles.get(path);
    if (handle === undefined) {
      handle = open(path, 'r');
      // The caller awaits it too; this only keeps a failed open of a dying stream from
      // surfacing as an unhandled rejection.
      handle.catch(() => undefined);
      this.handles.set(path, handle);
    }
    return handle;
  }

  /** Closes every handle (waiting for late opens); resolves with the first close failure, if any. */
  async closeAll(): Promise<Error | undefined> {
    this.closed = true;
    const pending = [...this.handles.values()];
    this.handles.clear();
    const opened = await Promise.allSettled(pending);
    const closes = await Promise.allSettled(
      opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value.close()] : [])),
    );
    const failure = closes.find((result) => result.status === 'rejected');
    return failure === undefined ? undefined : asError(failure.reason);
  }
}

/**
 * Reads exactly `length` bytes at `position` into a new buffer (it is handed to the consumer,
 * so it cannot be reused). Short reads are retried; end of file before `length` is an error
 * rather than short data.
 */
export async function readExactly(
  handle: FileHandle,
  path: string,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new TruncatedFileError(path, position + length, position + filled);
    filled += bytesRead;
  }
  return buffer;
}

export function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
