/**
 * HTTP `Range` handling for single byte ranges (RFC 9110 §14). Pure functions: the controller
 * decides the status code, the virtual file streams the bytes.
 */

/** An inclusive byte range, as in HTTP (`bytes=0-0` is one byte). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeResult =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly range: ByteRange }
  | { readonly kind: 'unsatisfiable' };

const FULL: RangeResult = { kind: 'full' };
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' };

// One `bytes` range with optional whitespace; a comma (several ranges) does not match, so it is
// ignored as a whole: serving the full body is always a valid answer to a Range request.
const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)$/i;

/**
 * Interprets a `Range` header against a representation of `size` bytes. Headers we do not
 * understand (other units, several ranges, malformed or absurd numbers) yield `full`, which
 * RFC 9110 allows a server to do instead of failing the request.
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeResult {
  assertSize(size);
  if (header === undefined) return FULL;
  const match = SINGLE_RANGE.exec(header.trim());
  if (match === null) return FULL;
  const [, firstText = '', lastText = ''] = match;
  if (firstText === '' && lastText === '') return FULL;
  const first = parseDecimal(firstText);
  const last = parseDecimal(lastText);
  if (first === undefined || last === undefined) return FULL;
  return first === null ? suffixRange(last ?? 0, size) : boundedRange(first, last, size);
}

/** `Content-Range` value of a 206 response. */
export function contentRangeHeader(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/** `Content-Range` value of a 416 response. */
export function unsatisfiedContentRangeHeader(size: number): string {
  return `bytes */${size}`;
}

/** Number of bytes in an inclusive range. */
export function byteRangeLength(range: ByteRange): number {
  return range.end - range.start + 1;
}

/** `bytes=-n`: the last n bytes; more than the whole file means the whole file. */
function suffixRange(suffixLength: number, size: number): RangeResult {
  if (suffixLength === 0 || size === 0) return UNSATISFIABLE;
  return partial(Math.max(0, size - suffixLength), size - 1);
}

/** `bytes=a-b` or `bytes=a-`: the end is clamped to the last byte. */
function boundedRange(first: number, last: number | null, size: number): RangeResult {
  // last < first is an invalid range-spec, not an unsatisfiable one: ignore the header.
  if (last !== null && last < first) return FULL;
  if (first >= size) return UNSATISFIABLE;
  return partial(first, Math.min(last ?? size - 1, size - 1));
}

function partial(start: number, end: number): RangeResult {
  return { kind: 'partial', range: { start, end } };
}

/** `null` for an absent number, `undefined` for one we refuse (beyond exact integer precision). */
function parseDecimal(text: string): number | null | undefined {
  if (text === '') return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Representation size must be a non-negative integer, got ${size}`);
  }
}
