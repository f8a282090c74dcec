import { open } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { ImageSourceConfig } from '../config/app-config.js';
import { describeUrl } from './describe-url.js';
import {
  ImageFetchError,
  TransferAbortedError,
  copyResponse,
  openFileSource,
  type OpenedSource,
} from './download-sources.js';
import { BlockWriter, ByteMeter, type ProgressListener } from './download-writer.js';

export { ImageFetchError } from './download-sources.js';

export interface FetchTimeouts {
  /** Longest silence (connecting, waiting for headers, or between body bytes) before the download is abandoned. */
  readonly idleMs: number;
  readonly maxRedirects: number;
}

/** A partial file an earlier run left, and what its source said about the content then. */
export interface ResumeFrom {
  readonly bytes: number;
  readonly total: number;
  readonly validator: string;
}

/** Where a body starts once the source answered, and what a later resume would need. */
export interface DownloadStart {
  readonly offset: number;
  readonly total: number | undefined;
  readonly validator: string | undefined;
}

export interface FetchRequest {
  readonly url: string;
  readonly destination: string;
  readonly expectedSha256?: string;
  readonly onProgress: ProgressListener;
  readonly signal: AbortSignal;
  /** Continue this partial file with a Range request, if the source still has the same content (If-Range). */
  readonly resumeFrom?: ResumeFrom;
  /** Called once the source answered, before the first byte is written. */
  readonly onStart?: (start: DownloadStart) => Promise<void>;
}

export interface FetchResult {
  readonly bytes: number;
  /** Computed only when the catalog gives one to check: hashing every byte otherwise costs CPU for nothing. */
  readonly sha256?: string;
  /** Bytes that were already on disk from an earlier run. */
  readonly resumedFrom: number;
}

/**
 * Streams one catalog URL (http, https or file) into a file, checking length and checksum on the way; a partial
 * file from an earlier run is continued with a Range request when the source supports it, and the checksum still
 * covers the whole file. Bytes go to disk through two reused 1 MiB blocks (see download-writer.ts).
 */
export class ImageFetcher {
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent = new http.Agent({ keepAlive: false });

  constructor(
    private readonly source: ImageSourceConfig,
    private readonly timeouts: FetchTimeouts,
  ) {
    const ca = source.trustedCaPem === undefined ? undefined : [...rootCertificates, source.trustedCaPem];
    this.httpsAgent = new https.Agent({
      keepAlive: false,
      rejectUnauthorized: !source.insecureSkipVerify,
      minVersion: 'TLSv1.2',
      ...(ca && { ca }),
    });
  }

  async fetch(request: FetchRequest): Promise<FetchResult> {
    const url = new URL(request.url);
    const opened =
      url.protocol === 'file:'
        ? await openFileSource(url)
        : await this.openHttp(this.withQueryParams(url), request.signal, request.resumeFrom);
    await request.onStart?.({ offset: opened.offset, total: opened.total, validator: opened.validator });
    const destination = await open(request.destination, opened.offset > 0 ? 'r+' : 'w');
    try {
      const meter = new ByteMeter(
        opened.total,
        request.onProgress,
        request.expectedSha256 !== undefined,
        opened.offset,
      );
      await meter.hashExisting(destination, opened.offset);
      await this.transfer(opened, new BlockWriter(destination, meter, opened.offset), meter, request);
      const result = checkedResult(meter, opened.total, request.expectedSha256);
      // On disk before the caller renames the file into place, so a crash cannot leave a short file under the final name.
      await destination.sync();
      return { ...result, resumedFrom: opened.offset };
    } finally {
      await destination.close();
    }
  }

  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  private async transfer(
    opened: OpenedSource,
    writer: BlockWriter,
    meter: ByteMeter,
    request: FetchRequest,
  ): Promise<void> {
    try {
      await opened.copyTo(writer, request.signal);
      await writer.finish();
    } catch (error) {
      await writer.settle();
      throw transferError(error, meter, opened.total, request.url);
    }
  }

  private withQueryParams(url: URL): URL {
    const withParams = new URL(url);
    for (const [key, value] of Object.entries(this.source.requestQueryParams))
      withParams.searchParams.append(key, value);
    return withParams;
  }

  /** A resume the source cannot honour (no range, changed content, another length) starts over from byte 0. */
  private async openHttp(url: URL, signal: AbortSignal, resume?: ResumeFrom): Promise<OpenedSource> {
    const response = await this.follow(
      url,
      signal,
      resume && { range: `bytes=${resume.bytes}-`, 'if-range': resume.validator },
    );
    const status = response.statusCode ?? 0;
    if (resume !== undefined && (status === 206 || status === 416)) {
      const range = status === 206 ? parseContentRange(response.headers['content-range']) : undefined;
      if (range?.start === resume.bytes && range.total === resume.total) {
        return {
          offset: resume.bytes,
          total: range.total,
          validator: resume.validator,
          copyTo: (writer, abort) => copyResponse(response, writer, abort),
        };
      }
      response.destroy();
      return this.openHttp(url, signal);
    }
    if (status < 200 || status > 299 || status === 206) {
      response.resume();
      throw new ImageFetchError(`HTTP ${status} from ${describeUrl(url)}`);
    }
    const length = response.headers['content-length'];
    const total = length === undefined ? undefined : Number(length);
    return {
      offset: 0,
      total,
      validator: validatorOf(response),
      copyTo: (writer, abort) => copyResponse(response, writer, abort),
    };
  }

  private async follow(
    url: URL,
    signal: AbortSignal,
    extra: Record<string, string> | undefined,
    redirectsLeft = this.timeouts.maxRedirects,
    origin = url.origin,
  ): Promise<IncomingMessage> {
    const response = await this.get(url, signal, url.origin === origin, extra);
    const location = response.headers.location;
    const status = response.statusCode ?? 0;
    if (status < 300 || status >= 400 || location === undefined) return response;
    response.resume();
    if (redirectsLeft === 0) throw new ImageFetchError(`too many redirects from ${describeUrl(url)}`);
    return this.follow(new URL(location, url), signal, extra, redirectsLeft - 1, origin);
  }

  /** Custom headers often carry credentials: they go only to the catalog URL's own origin, not across redirects. */
  private get(
    url: URL,
    signal: AbortSignal,
    sameOrigin: boolean,
    extra: Record<string, string> | undefined,
  ): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    const headers = { ...(sameOrigin ? this.source.requestHeaders : {}), ...extra };
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const request = (secure ? https : http).get(
        url,
        { agent: secure ? this.httpsAgent : this.httpAgent, headers, signal },
        (incoming) => {
          response = incoming;
          resolve(incoming);
        },
      );
      // The socket timeout covers connecting, waiting for headers and every gap in the body. Destroying the
      // response with the reason makes reading the body fail with it rather than a bare "aborted".
      request.setTimeout(this.timeouts.idleMs, () => {
        const stalled = new ImageFetchError(
          `no data from ${describeUrl(url)} for ${Math.round(this.timeouts.idleMs / 1000)} s`,
        );
        response?.destroy(stalled);
        request.destroy(stalled);
      });
      request.on('error', (error) => reject(connectError(error, url)));
    });
  }
}

/** A strong ETag, else Last-Modified: what If-Range may carry (weak ETags may not). */
function validatorOf(response: IncomingMessage): string | undefined {
  const etag = response.headers.etag;
  if (etag !== undefined && !etag.startsWith('W/')) return etag;
  return response.headers['last-modified'];
}

function parseContentRange(header: string | undefined): { start: number; total: number } | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+)$/.exec(header ?? '');
  return match ? { start: Number(match[1]), total: Number(match[2]) } : undefined;
}

function transferError(error: unknown, meter: ByteMeter, total: number | undefined, url: string): Error {
  if (error instanceof ImageFetchError || error instanceof TransferAbortedError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const detail = error instanceof Error ? error.message : String(error);
  const expected = total === undefined ? '' : ` of ${total}`;
  return new ImageFetchError(
    `download of ${describeUrl(new URL(url))} broke off after ${meter.bytes}${expected} bytes: ${detail}`,
  );
}

function connectError(error: Error, url: URL): Error {
  if (error instanceof ImageFetchError || error.name === 'AbortError') return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new ImageFetchError(
    `cannot fetch ${describeUrl(url)}: ${code === undefined ? error.message : `${code} ${error.message}`}`,
  );
}

function checkedResult(
  meter: ByteMeter,
  total: number | undefined,
  expectedSha256: string | undefined,
): Omit<FetchResult, 'resumedFrom'> {
  if (total !== undefined && meter.bytes !== total) {
    throw new ImageFetchError(`received ${meter.bytes} bytes but Content-Length announced ${total}`);
  }
  const sha256 = meter.digest();
  if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
    throw new ImageFetchError(`sha256 mismatch: expected ${expectedSha256}, got ${sha256}`);
  }
  return { bytes: meter.bytes, ...(sha256 !== undefined && { sha256 }) };
}
