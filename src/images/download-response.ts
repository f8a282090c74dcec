/** What a download route serves, before HTTP semantics are applied. */
export interface DownloadResource {
  readonly size: number;
  readonly filename: string;
  /** Omitted when unknown: a made-up date would let clients keep a stale image through If-Modified-Since. */
  readonly lastModified?: Date;
}

/** An inclusive byte range, as in HTTP (`bytes=0-0` is one byte). */
interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeResult =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly range: ByteRange }
  | { readonly kind: 'unsatisfiable' };

export type ResponsePlan =
  | { readonly status: 200 | 304; readonly headers: Record<string, string> }
  | { readonly status: 206; readonly headers: Record<string, string>; readonly range: ByteRange }
  | { readonly status: 416; readonly headers: Record<string, string>; readonly message: string };

const FULL: RangeResult = { kind: 'full' };
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' };

/** One `bytes` range with optional whitespace; several ranges do not match, so the header is ignored as a whole. */
const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)$/i;

/**
 * Status and headers of a download: Content-Length, Last-Modified, Accept-Ranges and Content-Disposition always;
 * If-Modified-Since (304) before Range (206/416), as RFC 9110 orders them.
 */
export function planDownloadResponse(
  resource: DownloadResource,
  range: string | undefined,
  ifModifiedSince: string | undefined,
): ResponsePlan {
  const { size, lastModified } = resource;
  const headers: Record<string, string> = {
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': `attachment; filename=${resource.filename}`,
    ...(lastModified && { 'Last-Modified': lastModified.toUTCString() }),
  };
  if (notModified(lastModified, ifModifiedSince)) return { status: 304, headers };
  const result = parseRangeHeader(range, size);
  if (result.kind === 'unsatisfiable') {
    const message = `range "${range ?? ''}" cannot be satisfied: the file is ${size} bytes`;
    return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${size}` }, message };
  }
  if (result.kind === 'full') return { status: 200, headers: { ...headers, 'Content-Length': String(size) } };
  const { start, end } = result.range;
  headers['Content-Length'] = String(end - start + 1);
  headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  return { status: 206, headers, range: result.range };
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
  if (match === null || (match[1] === '' && match[2] === '')) return FULL;
  const first = parseDecimal(match[1] ?? '');
  const last = parseDecimal(match[2] ?? '');
  if (first === undefined || last === undefined) return FULL;
  if (first === null) {
    // `bytes=-n`: the last n bytes; more than the whole file means the whole file.
    return last === 0 || size === 0 ? UNSATISFIABLE : partial(Math.max(0, size - (last ?? 0)), size - 1);
  }
  // `last < first` is an invalid range-spec, not an unsatisfiable one: the header is ignored.
  if (last !== null && last < first) return FULL;
  return first >= size ? UNSATISFIABLE : partial(first, Math.min(last ?? size - 1, size - 1));
}

function partial(start: number, end: number): RangeResult {
  return { kind: 'partial', range: { start, end } };
}

/** `null` for an absent number, `undefined` for one beyond exact integer precision. */
function parseDecimal(text: string): number | null | undefined {
  if (text === '') return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
