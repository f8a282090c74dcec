import { createHash, type Hash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { ImageSourceConfig } from '../config/app-config.js';
import { describeUrl } from './describe-url.js';

/** A download that did not produce the expected bytes; the message is the reason shown in the image state. */
export class ImageFetchError extends Error {
  override name = 'ImageFetchError';
}

export interface FetchTimeouts {
  /** Longest silence (connecting, waiting for headers, or between body bytes) before the download is abandoned. */
  readonly idleMs: number;
  readonly maxRedirects: number;
}

export interface FetchRequest {
  readonly url: string;
  readonly destination: string;
  readonly expectedSha256?: string;
  readonly onProgress: (bytesDone: number, bytesTotal: number | undefined) => void;
  readonly signal: AbortSignal;
}

export interface FetchResult {
  readonly bytes: number;
  /** Computed only when the catalog gives one to check: hashing every byte otherwise costs CPU for nothing. */
  readonly sha256?: string;
}

/** An opened source: its length when known, and how to copy its body through a writer. */
interface OpenedSource {
  readonly total: number | undefined;
  copyTo(writer: BlockWriter, signal: AbortSignal): Promise<void>;
}

/**
 * Streams one catalog URL (http, https or file) into a file, checking length and checksum on the way. Bytes go
 * to disk through two 1 MiB blocks used again and again, and a file:// source is read straight into them, so its
 * copy leaves no dead buffers behind (a fresh 1 MiB buffer per read did, up to tens of MB before V8 collected
 * them). An HTTP body still arrives in buffers Node allocates per socket read; only the garbage collector frees
 * those. The sha256 is computed only when the catalog gives one to check.
 */
export class ImageFetcher {
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent = new http.Agent({ keepAlive: false });

  constructor(
    private readonly source: ImageSourceConfig,
    private readonly timeouts: FetchTimeouts,
  ) {
    const ca = source.trustedCaPem === undefined ? undefined : [...rootCertificates, source.trustedCaPem];
    this.httpsAgent = new https.Agent({ keepAlive: false, rejectUnauthorized: !source.insecureSkipVerify, minVersion: 'TLSv1.2', ...(ca && { ca }) });
  }

  async fetch(request: FetchRequest): Promise<FetchResult> {
    const url = new URL(request.url);
    const destination = await open(request.destination, 'w');
    try {
      const opened = url.protocol === 'file:' ? await openFile(url) : await this.openHttp(this.withQueryParams(url), request.signal);
      const meter = new ByteMeter(opened.total, request.onProgress, request.expectedSha256 !== undefined);
      await this.transfer(opened, new BlockWriter(destination, meter), meter, request);
      const result = checkedResult(meter, opened.total, request.expectedSha256);
      // On disk before the caller renames the file into place, so a crash cannot leave a short file under the final name.
      await destination.sync();
      return result;
    } finally {
      await destination.close();
    }
  }

  private async transfer(opened: OpenedSource, writer: BlockWriter, meter: ByteMeter, request: FetchRequest): Promise<void> {
    try {
      await opened.copyTo(writer, request.signal);
      await writer.finish();
    } catch (error) {
      await writer.settle();
      throw this.transferError(error, meter, opened.total, request.url);
    }
  }

  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  private withQueryParams(url: URL): URL {
    const withParams = new URL(url);
    for (const [key, value] of Object.entries(this.source.requestQueryParams)) withParams.searchParams.append(key, value);
    return withParams;
  }

  private async openHttp(url: URL, signal: AbortSignal, redirectsLeft = this.timeouts.maxRedirects, origin = url.origin): Promise<OpenedSource> {
    const response = await this.get(url, signal, url.origin === origin);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      response.resume();
      if (redirectsLeft === 0) throw new ImageFetchError(`too many redirects from ${describeUrl(url)}`);
      return this.openHttp(new URL(location, url), signal, redirectsLeft - 1, origin);
    }
    if (status < 200 || status > 299) {
      response.resume();
      throw new ImageFetchError(`HTTP ${status} from ${describeUrl(url)}`);
    }
    const length = response.headers['content-length'];
    return { total: length === undefined ? undefined : Number(length), copyTo: (writer, abort) => copyResponse(response, writer, abort) };
  }

  /** Custom headers often carry credentials: they go only to the catalog URL's own origin, not across redirects. */
  private get(url: URL, signal: AbortSignal, sameOrigin: boolean): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    const headers = sameOrigin ? { ...this.source.requestHeaders } : {};
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const request = (secure ? https : http).get(url, { agent: secure ? this.httpsAgent : this.httpAgent, headers, signal }, (incoming) => {
        response = incoming;
        resolve(incoming);
      });
      // The socket timeout covers connecting, waiting for headers and every gap in the body. Destroying the
      // response with the reason makes reading the body fail with it rather than a bare "aborted".
      request.setTimeout(this.timeouts.idleMs, () => {
        const stalled = new ImageFetchError(`no data from ${describeUrl(url)} for ${Math.round(this.timeouts.idleMs / 1000)} s`);
        response?.destroy(stalled);
        request.destroy(stalled);
      });
      request.on('error', (error) => reject(connectError(error, url)));
    });
  }

  private transferError(error: unknown, meter: ByteMeter, total: number | undefined, url: string): Error {
    if (error instanceof ImageFetchError || error instanceof TransferAbortedError) return error;
    if (error instanceof Error && error.name === 'AbortError') return error;
    const detail = error instanceof Error ? error.message : String(error);
    const expected = total === undefined ? '' : ` of ${total}`;
    return new ImageFetchError(`download of ${describeUrl(new URL(url))} broke off after ${meter.bytes}${expected} bytes: ${detail}`);
  }
}

function connectError(error: Error, url: URL): Error {
  if (error instanceof ImageFetchError || error.name === 'AbortError') return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new ImageFetchError(`cannot fetch ${describeUrl(url)}: ${code === undefined ? error.message : `${code} ${error.message}`}`);
}

function checkedResult(meter: ByteMeter, total: number | undefined, expectedSha256: string | undefined): FetchResult {
  if (total !== undefined && meter.bytes !== total) {
    throw new ImageFetchError(`received ${meter.bytes} bytes but Content-Length announced ${total}`);
  }
  const sha256 = meter.digest();
  if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
    throw new ImageFetchError(`sha256 mismatch: expected ${expectedSha256}, got ${sha256}`);
  }
  return { bytes: meter.bytes, ...(sha256 !== undefined && { sha256 }) };
}

/** The download was stopped through its signal (the service is shutting down). */
class TransferAbortedError extends Error {
  override name = 'AbortError';
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new TransferAbortedError('the download was stopped');
}

/** The body, chunk by chunk into the writer; the request's signal and idle timeout also end it by destroying the response. */
async function copyResponse(response: IncomingMessage, writer: BlockWriter, signal: AbortSignal): Promise<void> {
  try {
    for await (const chunk of response) {
      throwIfAborted(signal);
      await writer.append(chunk as Buffer);
    }
  } finally {
    // Leaving the loop early (an error) destroys the response; this covers an error thrown by the writer too.
    response.destroy();
  }
}

async function openFile(url: URL): Promise<OpenedSource> {
  const path = fileURLToPath(url);
  try {
    const { size } = await stat(path);
    return { total: size, copyTo: (writer, signal) => copyFile(path, writer, signal) };
  } catch (error) {
    throw new ImageFetchError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads the file straight into the writer's blocks: no buffer per chunk. */
async function copyFile(path: string, writer: BlockWriter, signal: AbortSignal): Promise<void> {
  const source = await open(path, 'r');
  try {
    for (let position = 0; ; ) {
      throwIfAborted(signal);
      const space = writer.space();
      const { bytesRead } = await source.read(space, 0, space.length, position);
      if (bytesRead === 0) return;
      await writer.commit(bytesRead);
      position += bytesRead;
    }
  } finally {
    await source.close();
  }
}

/** Size of each of the writer's two blocks: big enough for few system calls, small enough to keep. */
const BLOCK_SIZE = 1024 * 1024;

/** Counts (and, when there is a checksum to verify, hashes) the bytes on their way to disk, and reports progress. */
class ByteMeter {
  bytes = 0;
  private readonly hash: Hash | undefined;

  constructor(
    private readonly total: number | undefined,
    private readonly onProgress: FetchRequest['onProgress'],
    hashing: boolean,
  ) {
    this.hash = hashing ? createHash('sha256') : undefined;
  }

  add(bytes: Buffer): void {
    this.bytes += bytes.length;
    this.hash?.update(bytes);
    this.onProgress(this.bytes, this.total);
  }

  digest(): string | undefined {
    return this.hash?.digest('hex');
  }
}

/**
 * Writes a download to its file in blocks from two buffers: one is filled (or read into) while the other is being
 * written. A block is filled again only after its previous write finished.
 */
class BlockWriter {
  private readonly blocks = [Buffer.allocUnsafeSlow(BLOCK_SIZE), Buffer.allocUnsafeSlow(BLOCK_SIZE)] as const;
  private current: 0 | 1 = 0;
  private filled = 0;
  private position = 0;
  private pendingWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: FileHandle,
    private readonly meter: ByteMeter,
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
    for (let offset = 0; offset < chunk.length; ) {
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
  for (let written = 0; written < length; ) {
    const { bytesWritten } = await file.write(block, written, length - written, position + written);
    written += bytesWritten;
  }
}
