/**
 * The Ignition payload, and where it goes in a live ISO. The payload is a gzip-compressed newc cpio holding
 * `config.ign`, which the kernel unpacks as one more initramfs: it goes over the ISO's Ignition area and after the PXE
 * initrd. `coreos/igninfo.json` names the area; older ISOs use all of `images/ignition.img`. See docs/live-iso.md.
 */
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gzip, gzipSync } from 'node:zlib';
import { buildNewcArchive, paddingTo4, type CpioEntry } from './cpio.js';
import { absoluteOffset, parseJsonObject, regularFile, type IsoIndex } from './iso9660.js';
import { fillArea, type Overwrite } from './virtual-file.js';

export const IGNINFO_PATH = 'coreos/igninfo.json';
/**
 * The Ignition area of every RHCOS live ISO. The PXE initrd has no area, but its payload is held to the same bound:
 * an Ignition too large for the ISO would not be served any other way.
 */
export const STANDARD_IGNITION_AREA_BYTES = 256 * 1024;
/**
 * How far past the area an Ignition compressed alone may go before no payload of it can fit: the payload adds ~250
 * bytes of cpio framing, which can shift deflate's block choices by a few bytes at most.
 */
const METER_MARGIN_BYTES = 1024;
const gzipAsync = promisify(gzip);

/** `file`: the ISO file holding the area, no leading slash; `offset`: absolute in the ISO. */
export type IgnitionArea = { file: string; offset: number; length: number };

/** igninfo.json is malformed, or the area it names is not inside an ISO file. */
export class IgnitionAreaError extends Error {
  override readonly name = 'IgnitionAreaError';
}

/** `payloadSize` is undefined when compression stopped as soon as it passed the area: only "more than" is known. */
export class IgnitionTooLargeError extends Error {
  override readonly name = 'IgnitionTooLargeError';

  constructor(
    readonly payloadSize: number | undefined,
    readonly areaSize: number,
  ) {
    const size = payloadSize === undefined ? `more than ${areaSize}` : String(payloadSize);
    super(`Ignition payload is ${size} bytes, larger than the ISO's ${areaSize}-byte Ignition area`);
  }
}

/** `igninfoJson` is the content of coreos/igninfo.json, or undefined when the ISO has none. */
export function resolveIgnitionArea(index: IsoIndex, igninfoJson: Buffer | undefined): IgnitionArea {
  const fail = (message: string): Error => new IgnitionAreaError(message);
  const info = igninfoJson === undefined ? {} : parseJsonObject(igninfoJson, IGNINFO_PATH, fail);
  if (igninfoJson !== undefined && (typeof info.file !== 'string' || info.file.replace(/^\/+/, '') === '')) {
    throw fail(`${IGNINFO_PATH} has no "file" string`);
  }
  const path = typeof info.file === 'string' ? info.file.replace(/^\/+/, '') : 'images/ignition.img';
  const count = (key: string, minimum: number): number | undefined => {
    const value = info[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum) return value;
    throw fail(`${IGNINFO_PATH} "${key}" must be an integer ≥ ${minimum}, got ${JSON.stringify(value)}`);
  };
  const [offsetInFile = 0, length] = [count('offset', 0), count('length', 1)];
  const file = regularFile(index, path);
  if (file === undefined) throw fail(`Ignition area file '${path}' is not in the ISO`);
  if (offsetInFile > file.size) {
    throw fail(`Ignition area offset ${offsetInFile} is past the end of '${path}' (${file.size} bytes)`);
  }
  const areaLength = length ?? file.size - offsetInFile;
  if (areaLength === 0) throw fail(`Ignition area in '${path}' is empty`);
  const offset = absoluteOffset(file, offsetInFile, areaLength, (message) => fail(`Ignition area: ${message}`));
  return { file: path, offset, length: areaLength };
}

export function ignitionPatches(area: IgnitionArea, payload: Buffer): Overwrite[] {
  if (payload.length > area.length) throw new IgnitionTooLargeError(payload.length, area.length);
  return fillArea(area.offset, area.length, payload);
}

/** gzip-compressed newc cpio of `entries`, zero-padded to a multiple of 4 bytes. */
export function buildCompressedCpio(entries: CpioEntry[]): Buffer {
  return padTo4(gzipSync(buildNewcArchive(entries)));
}

/**
 * The payload for `ignition` (the config as assisted-service returned it), compressed on the thread pool. With
 * `maxBytes` (the area) compression stops as soon as the output passes it, rejecting with IgnitionTooLargeError.
 */
export async function buildIgnitionPayload(ignition: Buffer, maxBytes?: number): Promise<Buffer> {
  const archive = buildNewcArchive([{ path: 'config.ign', data: ignition, mode: 0o100644 }]);
  const bound = maxBytes === undefined ? {} : { maxOutputLength: Math.max(1, maxBytes) };
  const compressed = await gzipAsync(archive, bound).catch((error: unknown) => {
    const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw maxBytes !== undefined && tooLarge ? new IgnitionTooLargeError(undefined, maxBytes) : error;
  });
  const payload = padTo4(compressed);
  if (maxBytes !== undefined && payload.length > maxBytes) throw new IgnitionTooLargeError(payload.length, maxBytes);
  return payload;
}

/** The `nmstate.img` ramdisk: the nmstatectl binary at /usr/bin/nmstatectl. */
export function buildNmstateRamdisk(nmstatectl: Buffer): Buffer {
  return buildCompressedCpio([{ path: 'usr/bin/nmstatectl', data: nmstatectl, mode: 0o100755 }]);
}

/**
 * Compresses an Ignition as it arrives, only to count the output: once the Ignition alone compresses to more than
 * the area, no payload of it can fit, and the rest of it need not be read. Same settings as `buildIgnitionPayload`.
 */
export class IgnitionSizeMeter {
  private readonly gzip = createGzip();
  private compressedBytes = 0;
  private failure: Error | undefined;

  constructor(private readonly maxPayloadBytes: number) {
    this.gzip.on('data', (chunk: Buffer) => void (this.compressedBytes += chunk.length));
    this.gzip.on('error', (error) => void (this.failure = error));
  }

  get cannotFit(): boolean {
    return this.compressedBytes > this.maxPayloadBytes + METER_MARGIN_BYTES;
  }

  /** Resolves once `chunk` is compressed, so the count is current and the reader never runs ahead of it. */
  write(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.gzip.write(chunk, (error) => (error ? reject(error) : resolve())));
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

/**
 * The kernel looks for the next archive of a concatenated initrd at a 4-byte boundary and skips zeros to get there,
 * so padding keeps whatever follows (ramdisk, nmstate) readable.
 */
function padTo4(compressed: Buffer): Buffer {
  const padding = paddingTo4(compressed.length);
  return padding === 0 ? compressed : Buffer.concat([compressed, Buffer.alloc(padding)]);
}
