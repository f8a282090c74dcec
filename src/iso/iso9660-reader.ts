// Bounds-checked positioned reads from an image file; the image is never read as a whole.
import { open, type FileHandle } from 'node:fs/promises';
import { IsoFormatError } from './iso9660-types.js';

export class IsoImageReader {
  private constructor(
    private readonly handle: FileHandle,
    readonly fileSize: number,
  ) {}

  static async open(isoPath: string): Promise<IsoImageReader> {
    const handle = await open(isoPath, 'r');
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new IsoFormatError(`not an ISO 9660 image: ${isoPath} is not a regular file`);
      return new IsoImageReader(handle, stats.size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Throws IsoFormatError when [offset, offset + length) is not inside the file. */
  assertInside(offset: number, length: number, what: string): void {
    const valid = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
    if (!valid || offset + length > this.fileSize) {
      throw new IsoFormatError(
        `truncated or corrupt image: ${what} at bytes ${offset}..${offset + length} ` +
          `lies beyond the end of the file (${this.fileSize} bytes)`,
      );
    }
  }

  /** Reads exactly `length` bytes at `offset`. */
  async read(offset: number, length: number, what: string): Promise<Buffer> {
    // Empty files may record any extent location; there is nothing to read there.
    if (length === 0) return Buffer.alloc(0);
    this.assertInside(offset, length, what);
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new IsoFormatError(`truncated image: the file ended while reading ${what} at byte ${offset + done}`);
      }
      done += bytesRead;
    }
    return buffer;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Opens the image, runs `use`, and always closes the handle. */
export async function withIsoReader<T>(isoPath: string, use: (reader: IsoImageReader) => Promise<T>): Promise<T> {
  const reader = await IsoImageReader.open(isoPath);
  try {
    return await use(reader);
  } finally {
    await reader.close();
  }
}
