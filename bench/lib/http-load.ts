// The measuring client: raw node:http (node:https for https URLs) requests whose bodies are counted and dropped,
// so the client costs as little CPU as possible and never buffers a body.
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** PEM of the CA that signed an https server's certificate (the bench's throwaway one); ignored for http URLs. */
export type TrustedCa = string | undefined;

export interface DownloadOptions {
  readonly headers?: Record<string, string>;
  readonly ca?: TrustedCa;
}

/**
 * GET over http or https by the URL's scheme. https verifies the server against `ca` (no rejectUnauthorized:
 * false), so the client does the work a real one does; agent: false, so every request has its own connection.
 */
function get(
  url: URL,
  options: http.RequestOptions,
  ca: TrustedCa,
  onResponse: (response: http.IncomingMessage) => void,
): http.ClientRequest {
  if (url.protocol === 'https:') return https.get(url, { ...options, agent: false, ca }, onResponse);
  return http.get(url, { ...options, agent: false }, onResponse);
}

export interface DownloadResult {
  readonly status: number;
  readonly bytes: number;
  /** Content-Length as announced, when there was one. */
  readonly announcedBytes: number | undefined;
  /** From sending the request to the first body byte (to the headers when there was no body). */
  readonly ttfbMs: number;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** Stopped by the caller's time cap before the body ended. */
  readonly cut: boolean;
}

/**
 * Downloads one URL on a fresh connection, discarding the body. When `stop` aborts, the download ends early
 * and resolves with what it got so far (`cut`); network errors reject.
 */
export function download(url: URL, stop: AbortSignal, options: DownloadOptions = {}): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const startedAtMs = performance.now();
    let status = 0;
    let bytes = 0;
    let ttfbMs = Number.NaN;
    let announcedBytes: number | undefined;
    const finish = (cut: boolean): void => {
      stop.removeEventListener('abort', onStop);
      resolve({ status, bytes, announcedBytes, ttfbMs, startedAtMs, endedAtMs: performance.now(), cut });
    };
    const fail = (error: Error): void => {
      if (stop.aborted) return;
      stop.removeEventListener('abort', onStop);
      reject(error);
    };
    const request = get(url, { headers: options.headers ?? {} }, options.ca, (response) => {
      status = response.statusCode ?? 0;
      const length = response.headers['content-length'];
      announcedBytes = length === undefined ? undefined : Number(length);
      const headersAtMs = performance.now() - startedAtMs;
      response.on('data', (chunk: Buffer) => {
        if (bytes === 0) ttfbMs = performance.now() - startedAtMs;
        bytes += chunk.length;
      });
      response.once('end', () => {
        if (bytes === 0) ttfbMs = headersAtMs;
        finish(false);
      });
      response.once('error', fail);
    });
    const onStop = (): void => {
      request.destroy();
      finish(true);
    };
    if (stop.aborted) return onStop();
    stop.addEventListener('abort', onStop, { once: true });
    request.once('error', fail);
  });
}

export interface ProbeAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** What the connection negotiated, e.g. `TLSv1.3 TLS_AES_256_GCM_SHA384 X25519`; undefined over plain http. */
  readonly tls: string | undefined;
}

/** Status and headers only: the body is dropped after the first chunk. */
export function probe(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  ca?: TrustedCa,
): Promise<ProbeAnswer> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers, signal: AbortSignal.timeout(timeoutMs) }, ca, (response) => {
      resolve({ status: response.statusCode ?? 0, headers: response.headers, tls: negotiated(response.socket) });
      response.destroy();
    });
    request.once('error', reject);
  });
}

/** Protocol, cipher and key exchange group of a TLS connection, so a report can show both targets got the same. */
function negotiated(socket: Socket): string | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const group = socket.getEphemeralKeyInfo();
  const groupName = group !== null && 'name' in group && typeof group.name === 'string' ? ` ${group.name}` : '';
  return `${socket.getProtocol() ?? '?'} ${socket.getCipher().standardName}${groupName}`;
}

export interface ConcurrentRun {
  /** Downloads that ended normally or were cut by the time cap. */
  readonly results: readonly DownloadResult[];
  readonly failures: readonly string[];
  /** How many were cut by the time cap. */
  readonly cut: number;
  readonly wallSeconds: number;
  /** Body bytes received, including those of cut downloads. */
  readonly bytes: number;
  /** CPU this (client) process used during the run, in cores: 1.0 = one core busy the whole time. */
  readonly clientCores: number;
}

/**
 * Starts `count` full downloads at the same moment and waits for all of them, but for at most `capMs`: then the
 * rest are cut, which keeps a run bounded while still measuring steady-state throughput over the window.
 */
export async function downloadConcurrently(
  url: URL,
  count: number,
  capMs: number,
  ca?: TrustedCa,
): Promise<ConcurrentRun> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const stop = AbortSignal.timeout(capMs);
  // Every download listens on the one cap signal; that many listeners is by design, not a leak.
  setMaxListeners(count + 1, stop);
  const settled = await Promise.allSettled(Array.from({ length: count }, () => download(url, stop, { ca })));
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const results: DownloadResult[] = [];
  const failures: string[] = [];
  for (const outcome of settled) {
    if (outcome.status === 'rejected') failures.push(describeError(outcome.reason));
    else if (!isGood(outcome.value)) failures.push(describeBad(outcome.value));
    else results.push(outcome.value);
  }
  const bytes = results.reduce((sum, result) => sum + result.bytes, 0);
  const cut = results.filter((result) => result.cut).length;
  return { results, failures, cut, wallSeconds, bytes, clientCores: (cpu.user + cpu.system) / 1e6 / wallSeconds };
}

/** A 200 whose body was complete, or still flowing when the cap cut it. */
function isGood(result: DownloadResult): boolean {
  return (
    result.status === 200 &&
    (result.cut || result.announcedBytes === undefined || result.bytes === result.announcedBytes)
  );
}

function describeBad(result: DownloadResult): string {
  if (result.status === 0) return 'no answer before the time cap';
  return `HTTP ${result.status}, ${result.bytes} of ${result.announcedBytes ?? '?'} bytes`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
