/**
 * The Ignition payload: what goes over the ISO's Ignition area and after the PXE initrd. The
 * kernel unpacks it as one more initramfs, so Ignition finds `/config.ign` at first boot.
 */
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gzip, gzipSync, type Gzip } from 'node:zlib';
import { buildNewcArchive, paddingTo4, type CpioEntry } from './cpio.js';
import { IgnitionTooLargeError } from './ignition-area.js';

export const IGNITION_CONFIG_NAME = 'config.ign';
export const IGNITION_CONFIG_MODE = 0o100644;
export const NMSTATECTL_ARCHIVE_PATH = 'usr/bin/nmstatectl';
export const NMSTATECTL_MODE = 0o100755;

/**
 * How far past the area an Ignition compressed alone may go before no payload of it can fit. A payload holds
 * the Ignition whole plus ~250 bytes of cpio framing, so it is not smaller than the Ignition compressed alone,
 * except by what the framing shifts in deflate's block choices: a few bytes, which this margin covers generously.
 */
const METER_MARGIN_BYTES = 1024;

const gzipAsync = promisify(gzip);

/** gzip-compressed newc cpio of `entries`, zero-padded to a multiple of 4 bytes. */
export function buildCompressedCpio(entries: CpioEntry[]): Buffer {
  return padTo4(gzipSync(buildNewcArchive(entries)));
}

/**
 * The Ignition payload for `ignition` (the config bytes as assisted-service returned them), compressed on the
 * thread pool. With `maxBytes` (the Ignition area) compression stops as soon as the output passes it, and the
 * promise rejects with IgnitionTooLargeError.
 */
export async function buildIgnitionPayload(ignition: Buffer, maxBytes?: number): Promise<Buffer> {
  const archive = buildNewcArchive([{ path: IGNITION_CONFIG_NAME, data: ignition, mode: IGNITION_CONFIG_MODE }]);
  let compressed: Buffer;
  try {
    compressed = await gzipAsync(archive, maxBytes === undefined ? {} : { maxOutputLength: Math.max(1, maxBytes) });
  } catch (error) {
    if (maxBytes !== undefined && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new IgnitionTooLargeError(undefined, maxBytes);
    }
    throw error;
  }
  const payload = padTo4(compressed);
  if (maxBytes !== undefined && payload.length > maxBytes) throw new IgnitionTooLargeError(payload.length, maxBytes);
  return payload;
}

/** The `nmstate.img` ramdisk holding the nmstatectl binary at /usr/bin/nmstatectl. */
export function buildNmstateRamdisk(nmstatectl: Buffer): Buffer {
  return buildCompressedCpio([{ path: NMSTATECTL_ARCHIVE_PATH, data: nmstatectl, mode: NMSTATECTL_MODE }]);
}

/**
 * Compresses an Ignition as it arrives, on the thread pool, only to count the output: once the Ignition alone
 * compresses to more than the area, no payload of it can fit, and the rest of it need not be read. Same settings
 * as `buildIgnitionPayload`, so the count is the payload's size less the framing.
 */
export class IgnitionSizeMeter {
  private readonly gzip: Gzip = createGzip();
  private compressedBytes = 0;
  private failure: Error | undefined;

  constructor(readonly maxPayloadBytes: number) {
    this.gzip.on('data', (chunk: Buffer) => {
      this.compressedBytes += chunk.length;
    });
    this.gzip.on('error', (error) => {
      this.failure = error;
    });
  }

  /** True once no payload of what was written so far can fit the area. */
  get cannotFit(): boolean {
    return this.compressedBytes > this.maxPayloadBytes + METER_MARGIN_BYTES;
  }

  /** Resolves once `chunk` is compressed: the count is then current, and the reader never runs ahead of it. */
  write(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.gzip.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Compresses what is left; `cannotFit` is then final. */
  async end(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.gzip.end();
    await finished(this.gzip);
  }

  /** Frees the compressor, whether or not the Ignition was read to its end. */
  close(): void {
    this.gzip.destroy();
  }
}

function padTo4(compressed: Buffer): Buffer {
  // The kernel looks for the next archive of a concatenated initrd at a 4-byte boundary and
  // skips zero bytes to get there, so padding keeps whatever follows (ramdisk, nmstate) readable.
  const padding = paddingTo4(compressed.length);
  return padding === 0 ? compressed : Buffer.concat([compressed, Buffer.alloc(padding)]);
}
