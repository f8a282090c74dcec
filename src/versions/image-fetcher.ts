import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  readonly sha256: string;
}

interface OpenedSource {
  readonly body: Readable;
  readonly total: number | undefined;
}

/** Streams one catalog URL (http, https or file) into a file, checking length and checksum on the way. */
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
    const opened = url.protocol === 'file:' ? await openFile(url) : await this.openHttp(this.withQueryParams(url), request.signal);
    const meter = new ByteMeter(opened.total, request.onProgress);
    try {
      await pipeline(opened.body, meter, createWriteStream(request.destination), { signal: request.signal });
    } catch (error) {
      throw this.transferError(error, meter, opened.total, request.url);
    }
    if (opened.total !== undefined && meter.bytes !== opened.total) {
      throw new ImageFetchError(`received ${meter.bytes} bytes but Content-Length announced ${opened.total}`);
    }
    const sha256 = meter.digest();
    if (request.expectedSha256 !== undefined && sha256 !== request.expectedSha256) {
      throw new ImageFetchError(`sha256 mismatch: expected ${request.expectedSha256}, got ${sha256}`);
    }
    await syncToDisk(request.destination);
    return { bytes: meter.bytes, sha256 };
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
    return { body: response, total: length === undefined ? undefined : Number(length) };
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
      // response with the reason makes the body pipeline fail with it rather than a bare "aborted".
      request.setTimeout(this.timeouts.idleMs, () => {
        const stalled = new ImageFetchError(`no data from ${describeUrl(url)} for ${Math.round(this.timeouts.idleMs / 1000)} s`);
        response?.destroy(stalled);
        request.destroy(stalled);
      });
      request.on('error', (error) => reject(connectError(error, url)));
    });
  }

  private transferError(error: unknown, meter: ByteMeter, total: number | undefined, url: string): Error {
    if (error instanceof ImageFetchError) return error;
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

async function openFile(url: URL): Promise<OpenedSource> {
  const path = fileURLToPath(url);
  try {
    const { size } = await stat(path);
    return { body: createReadStream(path, { highWaterMark: 1024 * 1024 }), total: size };
  } catch (error) {
    throw new ImageFetchError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function syncToDisk(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Counts and hashes the bytes flowing to disk and reports progress. */
class ByteMeter extends Transform {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');

  constructor(
    private readonly total: number | undefined,
    private readonly onProgress: FetchRequest['onProgress'],
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    this.onProgress(this.bytes, this.total);
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
