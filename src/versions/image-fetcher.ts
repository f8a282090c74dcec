import { createHash, type Hash } from 'node:crypto';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { isAbortError } from '../common/service-error.js';
import { ImageSourceConfig } from '../config/app-config.js';
import { readPartialRecord, writeRecord } from './cache-files.js';
import { SyncOptions, mebibytes } from './image-state.js';

/** A download that did not produce the expected bytes; the message is the reason shown in the image state. */
class ImageFetchError extends Error {
  override name = 'ImageFetchError';
}

interface FetchRequest {
  /** The cache file name, for logs. */
  readonly name: string;
  readonly url: string;
  /** `<iso>.part`, and the record that lets a later run resume it. */
  readonly partial: string;
  readonly partialRecord: string;
  readonly expectedSha256: string | undefined;
  readonly signal: AbortSignal;
  readonly onProgress: (bytesDone: number, bytesTotal: number | undefined) => void;
}

/** Where the body starts in the file (past the partial file a 206 continues), its total, and an If-Range validator. */
type Start = { readonly offset: number; readonly total: number | undefined; readonly validator: string | undefined };
type OpenedSource = Start & { readonly body: AsyncIterable<Buffer> };
type Resume = { readonly offset: number; readonly total: number; readonly validator: string };
type Fetched = { readonly bytes: number; readonly sha256: string | undefined };

const BLOCK_SIZE = 1024 * 1024;
const MAX_REDIRECTS = 5;

/** Streams a catalog URL (http, https or file) into `<iso>.part`, resuming an earlier run's with a Range request. */
@Injectable()
export class ImageFetcher {
  private readonly logger = new Logger(ImageFetcher.name);
  private readonly tls: https.RequestOptions;

  constructor(
    private readonly source: ImageSourceConfig,
    private readonly clock: Clock,
    private readonly options: SyncOptions,
  ) {
    const ca = source.trustedCaPem === undefined ? undefined : [...rootCertificates, source.trustedCaPem];
    this.tls = { rejectUnauthorized: !source.insecureSkipVerify, minVersion: 'TLSv1.2', ...(ca && { ca }) };
  }

  /** Resolves with the file's size and, when one is to be checked, its sha256 (both checked over the whole file). */
  async fetch(request: FetchRequest): Promise<Fetched> {
    const { name, url, partialRecord, signal } = request;
    const resume = await resumable(request);
    this.logger.log(
      `downloading ${name} from ${describeUrl(url)}${resume ? `, resuming at byte ${resume.offset}` : ''}`,
    );
    const started = this.clock.now();
    const parsed = new URL(url);
    const opened = parsed.protocol === 'file:' ? await openFile(parsed) : await this.openHttp(parsed, signal, resume);
    try {
      const { offset, total, validator } = opened;
      if (offset === 0 && validator !== undefined && total !== undefined)
        await writeRecord(partialRecord, { url, validator, total });
      else if (offset === 0) await rm(partialRecord, { force: true });
      const saved = await save(opened, { ...request, onProgress: this.logProgress(request) });
      const seconds = Math.max((this.clock.now() - started) / 1000, 0.001);
      const rate = `${((saved.bytes - offset) / 1e6 / seconds).toFixed(1)} MB/s`;
      this.logger.log(`${name}: downloaded ${mebibytes(saved.bytes - offset)} in ${seconds.toFixed(1)} s (${rate})`);
      return saved;
    } finally {
      if (opened.body instanceof Readable) opened.body.destroy();
    }
  }

  /** Passes progress on, and logs it at most once per interval. */
  private logProgress({ name, onProgress }: FetchRequest): FetchRequest['onProgress'] {
    let loggedAt = this.clock.now();
    return (bytesDone, bytesTotal) => {
      onProgress(bytesDone, bytesTotal);
      if (this.clock.now() - loggedAt < this.options.progressLogIntervalMs) return;
      loggedAt = this.clock.now();
      const of = bytesTotal && ` of ${mebibytes(bytesTotal)} (${Math.floor((bytesDone / bytesTotal) * 100)} %)`;
      this.logger.log(`${name}: ${mebibytes(bytesDone)}${of || ''}`);
    };
  }

  /** A resume the source cannot honour (no range, changed content, another length) starts over from byte 0. */
  private async openHttp(url: URL, signal: AbortSignal, resume?: Resume): Promise<OpenedSource> {
    const withParams = new URL(url);
    for (const [key, value] of Object.entries(this.source.requestQueryParams))
      withParams.searchParams.append(key, value);
    const range = resume && { range: `bytes=${resume.offset}-`, 'if-range': resume.validator };
    const response = await this.follow(withParams, signal, range);
    const status = response.statusCode ?? 0;
    if (resume !== undefined && (status === 206 || status === 416)) {
      const [, start, total] = /^bytes (\d+)-\d+\/(\d+)$/.exec(response.headers['content-range'] ?? '') ?? [];
      if (status === 206 && Number(start) === resume.offset && Number(total) === resume.total)
        return { ...resume, body: response };
      response.destroy();
      return this.openHttp(url, signal);
    }
    if (status < 200 || status > 299 || status === 206) {
      response.resume();
      throw new ImageFetchError(`HTTP ${status} from ${describeUrl(url)}`);
    }
    const { 'content-length': length, etag, 'last-modified': lastModified } = response.headers;
    // If-Range may carry a strong ETag or a date, never a weak ETag.
    const validator = etag !== undefined && !etag.startsWith('W/') ? etag : lastModified;
    return { offset: 0, total: length === undefined ? undefined : Number(length), validator, body: response };
  }

  /** Custom headers often carry credentials: they go only to the catalog URL's own origin, not across redirects. */
  private async follow(start: URL, signal: AbortSignal, extra?: Record<string, string>): Promise<IncomingMessage> {
    for (let url = start, redirects = 0; ; redirects++) {
      const headers = { ...(url.origin === start.origin && this.source.requestHeaders), ...extra };
      const response = await this.get(url, signal, headers);
      const { statusCode = 0, headers: received } = response;
      if (statusCode < 300 || statusCode >= 400 || received.location === undefined) return response;
      response.resume();
      if (redirects === MAX_REDIRECTS) throw new ImageFetchError(`too many redirects from ${describeUrl(url)}`);
      url = new URL(received.location, url);
    }
  }

  private get(url: URL, signal: AbortSignal, headers: Record<string, string>): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      // A connection of its own (agent: false), closed after the response: nothing is left open at shutdown.
      const options = { agent: false, headers, signal, ...(secure && this.tls) };
      const request = (secure ? https : http).get(url, options, (incoming) => {
        response = incoming;
        resolve(incoming);
      });
      // The timeout covers connecting, headers and every body gap; reading then fails with it, not a bare "aborted".
      request.setTimeout(this.options.idleTimeoutMs, () => {
        const seconds = Math.round(this.options.idleTimeoutMs / 1000);
        const stalled = new ImageFetchError(`no data from ${describeUrl(url)} for ${seconds} s`);
        response?.destroy(stalled);
        request.destroy(stalled);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof ImageFetchError || isAbortError(error)) return reject(error);
        const detail = error.code === undefined ? error.message : `${error.code} ${error.message}`;
        reject(new ImageFetchError(`cannot fetch ${describeUrl(url)}: ${detail}`));
      });
    });
  }
}

/** Writes the body after the partial file's first `offset` bytes; length and sha256 are checked over the whole file. */
async function save(source: OpenedSource, request: FetchRequest): Promise<Fetched> {
  const { partial, expectedSha256 } = request;
  const hash = expectedSha256 === undefined ? undefined : createHash('sha256');
  if (hash) for await (const block of readBlocks(partial, source.offset)) hash.update(block);
  const file = await open(partial, source.offset > 0 ? 'r+' : 'w');
  try {
    const bytes = await copy(source, file, hash, request);
    if (source.total !== undefined && bytes !== source.total)
      throw new ImageFetchError(`received ${bytes} bytes but Content-Length announced ${source.total}`);
    const sha256 = hash?.digest('hex');
    if (sha256 !== expectedSha256)
      throw new ImageFetchError(`sha256 mismatch: expected ${expectedSha256}, got ${sha256}`);
    // On disk before the caller renames the file into place, so a crash cannot leave a short file under its name.
    await file.sync();
    return { bytes, sha256 };
  } finally {
    await file.close();
  }
}

/** Writes each chunk at its place before taking the next (a file source reuses its buffer); returns the end. */
async function copy(source: OpenedSource, file: FileHandle, hash: Hash | undefined, request: FetchRequest) {
  let bytes = source.offset;
  try {
    for await (const chunk of source.body) {
      request.signal.throwIfAborted();
      for (let done = 0; done < chunk.length;)
        done += (await file.write(chunk, done, chunk.length - done, bytes + done)).bytesWritten;
      bytes += chunk.length;
      hash?.update(chunk);
      request.onProgress(bytes, source.total);
    }
    return bytes;
  } catch (error) {
    if (error instanceof ImageFetchError || isAbortError(error)) throw error;
    const expected = source.total === undefined ? '' : ` of ${source.total}`;
    const detail = `${bytes}${expected} bytes: ${(error as Error).message}`;
    throw new ImageFetchError(`download of ${describeUrl(request.url)} broke off after ${detail}`);
  }
}

/** A partial file is continued only when its record names the same URL and it is not longer than the source. */
async function resumable({ url, partial, partialRecord }: FetchRequest): Promise<Resume | undefined> {
  const [record, stats] = await Promise.all([readPartialRecord(partialRecord), stat(partial).catch(() => undefined)]);
  if (record?.url === url && stats !== undefined && stats.size > 0 && stats.size <= record.total)
    return { offset: stats.size, total: record.total, validator: record.validator };
  await Promise.all([rm(partial, { force: true }), rm(partialRecord, { force: true })]);
}

async function openFile(url: URL): Promise<OpenedSource> {
  const path = fileURLToPath(url);
  const { size } = await stat(path).catch((error: Error) => {
    throw new ImageFetchError(`cannot read ${path}: ${error.message}`);
  });
  return { offset: 0, total: size, validator: undefined, body: readBlocks(path) };
}

/** SHA-256 of a whole file, read in 1 MiB blocks: memory stays flat whatever the ISO size. */
export async function sha256OfFile(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const block of readBlocks(path)) {
    signal.throwIfAborted();
    hash.update(block);
  }
  return hash.digest('hex');
}

/** The file's first `length` bytes in two reused buffers: the caller is done with a block when it asks for the next. */
async function* readBlocks(path: string, length = Infinity): AsyncGenerator<Buffer> {
  if (length === 0) return;
  const file = await open(path, 'r');
  const blocks = [Buffer.allocUnsafeSlow(BLOCK_SIZE), Buffer.allocUnsafeSlow(BLOCK_SIZE)] as const;
  const read = (block: Buffer, position: number) =>
    file.read(block, 0, Math.min(BLOCK_SIZE, length - position), position).then(({ bytesRead }) => bytesRead);
  let next = read(blocks[0], 0);
  try {
    for (let position = 0, i = 0; ; i ^= 1) {
      const bytesRead = await next;
      if (bytesRead === 0) return;
      position += bytesRead;
      next = position < length ? read(blocks[i ^ 1], position) : Promise.resolve(0);
      yield blocks[i].subarray(0, bytesRead);
    }
  } finally {
    await next.catch(() => undefined);
    await file.close();
  }
}

/** A URL fit for logs and error messages: no user-info, no query string (either may carry a credential). */
export function describeUrl(url: URL | string): string {
  const parsed = URL.parse(url.toString());
  if (parsed === null) return '<unparseable URL>';
  [parsed.username, parsed.password, parsed.search, parsed.hash] = ['', '', '', ''];
  return parsed.toString();
}
