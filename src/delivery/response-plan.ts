import type { IncomingHttpHeaders } from 'node:http';
import type { ByteRange, VirtualFile } from '../iso/index.js';

export interface Download {
  readonly file: VirtualFile;
  readonly filename: string;
  /** Omitted when unknown: a made-up date would let clients keep a stale image through If-Modified-Since. */
  readonly lastModified?: Date;
  /**
   * Present when the same request gets the same download for as long as it returns true (the image still ready, the
   * customisation still cached): the fast lane may then answer it again without the application (docs/architecture.md).
   */
  readonly stillCurrent?: () => boolean;
}

export type RangeResult = ByteRange | 'full' | 'unsatisfiable';

export type ResponsePlan =
  | { readonly status: 200 | 304; readonly headers: Readonly<Record<string, string>> }
  | { readonly status: 206; readonly headers: Readonly<Record<string, string>>; readonly range: ByteRange }
  | { readonly status: 416; readonly headers: Record<string, string>; readonly message: string };
export type ServablePlan = Exclude<ResponsePlan, { status: 416 }>;

/** One `bytes` range with optional whitespace; several ranges do not match, so the header is ignored as a whole. */
const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)$/i;

/** What a download answers whatever the request asks: built once per download, shared by every answer. */
export type PreparedHeaders = ReturnType<typeof prepareHeaders>;

export function prepareHeaders({ file: { size }, filename, lastModified }: Download) {
  // A 304's headers; 200 and 206 add their lengths.
  const common: Readonly<Record<string, string>> = {
    // Downloads are binary: nothing a browser should sniff into something it renders or runs.
    'X-Content-Type-Options': 'nosniff',
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': `attachment; filename=${filename}`,
    ...(lastModified && { 'Last-Modified': lastModified.toUTCString() }),
  };
  return { size, ...(lastModified && { lastModified }), common, full: { ...common, 'Content-Length': String(size) } };
}

/**
 * Status and headers of a download, If-Modified-Since (304) before Range (206/416) as RFC 9110 orders them. A 416 is
 * answered as an error, with only its Content-Range and Accept-Ranges.
 */
export function planDownloadResponse(prepared: PreparedHeaders, requestHeaders: IncomingHttpHeaders): ResponsePlan {
  const { size, lastModified, common } = prepared;
  const { range, 'if-modified-since': ifModifiedSince } = requestHeaders;
  if (notModified(lastModified, ifModifiedSince)) return { status: 304, headers: common };
  const result = parseRangeHeader(range, size);
  if (result === 'unsatisfiable') {
    const message = `range "${range ?? ''}" cannot be satisfied: the file is ${size} bytes`;
    return { status: 416, headers: { 'Accept-Ranges': 'bytes', 'Content-Range': `bytes */${size}` }, message };
  }
  if (result === 'full') return { status: 200, headers: prepared.full };
  const { start, end } = result;
  const length = String(end - start + 1);
  const headers = { ...common, 'Content-Length': length, 'Content-Range': `bytes ${start}-${end}/${size}` };
  return { status: 206, headers, range: result };
}

/** HTTP dates have whole seconds; an unparseable If-Modified-Since is ignored, as RFC 9110 says. */
function notModified(lastModified: Date | undefined, ifModifiedSince: string | undefined): boolean {
  if (lastModified === undefined || ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(since / 1000);
}

/**
 * A `Range` header against a file of `size` bytes. Headers not understood (other units, several ranges, malformed or
 * absurd numbers) give `full`: RFC 9110 lets a server answer any Range request with the whole file.
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeResult {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`a file size must be a whole number, got ${size}`);
  const match = header === undefined ? null : SINGLE_RANGE.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return 'full';
  const first = parseDecimal(match[1] ?? '');
  const last = parseDecimal(match[2] ?? '');
  if (first === undefined || last === undefined) return 'full';
  if (first === null) {
    // `bytes=-n`: the last n bytes; more than the whole file means the whole file.
    return last === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - (last ?? 0)), end: size - 1 };
  }
  // `last < first` is an invalid range-spec, not an unsatisfiable one: the header is ignored.
  if (last !== null && last < first) return 'full';
  return first >= size ? 'unsatisfiable' : { start: first, end: Math.min(last ?? size - 1, size - 1) };
}

/** `null` for an absent number, `undefined` for one beyond exact integer precision. */
function parseDecimal(text: string): number | null | undefined {
  if (text === '') return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
