import {
  contentRangeHeader,
  parseRangeHeader,
  unsatisfiedContentRangeHeader,
  type ByteRange,
} from '../iso/index.js';

/** What a download route serves, before HTTP semantics are applied. */
export interface DownloadResource {
  readonly size: number;
  readonly filename: string;
  /** Omitted when unknown: a made-up date would let clients keep a stale image through If-Modified-Since. */
  readonly lastModified?: Date;
  readonly contentType?: string;
}

export interface RequestConditions {
  readonly method: string;
  readonly range?: string;
  readonly ifModifiedSince?: string;
}

export type ResponsePlan =
  | { readonly status: 200; readonly headers: Record<string, string> }
  | { readonly status: 206; readonly headers: Record<string, string>; readonly range: ByteRange }
  | { readonly status: 304; readonly headers: Record<string, string> }
  | { readonly status: 416; readonly headers: Record<string, string>; readonly message: string };

/**
 * The status and headers of a download (reference §7): Content-Length, Last-Modified, Accept-Ranges and
 * Content-Disposition always; If-Modified-Since (304) before Range (206/416), as RFC 9110 orders them.
 */
export function planDownloadResponse(resource: DownloadResource, conditions: RequestConditions): ResponsePlan {
  const headers: Record<string, string> = {
    'Accept-Ranges': 'bytes',
    'Content-Type': resource.contentType ?? 'application/octet-stream',
    'Content-Disposition': `attachment; filename=${resource.filename}`,
    ...(resource.lastModified && { 'Last-Modified': resource.lastModified.toUTCString() }),
  };
  if (notModified(resource.lastModified, conditions.ifModifiedSince)) return { status: 304, headers };
  const range = parseRangeHeader(conditions.range, resource.size);
  if (range.kind === 'unsatisfiable') {
    const message = `range "${conditions.range ?? ''}" cannot be satisfied: the file is ${resource.size} bytes`;
    return {
      status: 416,
      headers: { ...headers, 'Content-Range': unsatisfiedContentRangeHeader(resource.size) },
      message,
    };
  }
  if (range.kind === 'partial') {
    const length = range.range.end - range.range.start + 1;
    return {
      status: 206,
      range: range.range,
      headers: {
        ...headers,
        'Content-Length': String(length),
        'Content-Range': contentRangeHeader(range.range, resource.size),
      },
    };
  }
  return { status: 200, headers: { ...headers, 'Content-Length': String(resource.size) } };
}

/** HTTP dates have whole seconds; an unparseable If-Modified-Since is ignored, as RFC 9110 says. */
function notModified(lastModified: Date | undefined, ifModifiedSince: string | undefined): boolean {
  if (lastModified === undefined || ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  if (Number.isNaN(since)) return false;
  return Math.floor(lastModified.getTime() / 1000) <= Math.floor(since / 1000);
}
