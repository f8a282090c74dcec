import type { IncomingHttpHeaders } from 'node:http';
import type { HostileRequest } from './hostile-arbitraries.js';
import type { HostileResponse } from './hostile-client.js';

/** The only paths the service may ever call on assisted-service. */
const UPSTREAM_PATH =
  /^\/api\/assisted-install\/v2\/infra-envs\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\/downloads\/files|\/downloads\/minimal-initrd)?$/;

/** Route shapes whose answers are the service's own downloads (README.md, API). */
const IMAGE_ROUTE_SHAPES: ReadonlySet<string> = new Set([
  'images',
  'pxe-initrd',
  's390x-initrd-addrsize',
  'byid',
  'bytoken',
  'byapikey',
  'boot-artifacts',
]);

/** What a Range header asks of a representation of `size` bytes, decided independently of the service's parser. */
type RangeExpectation =
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'any' };

/**
 * RFC 9110 (section 14) for the canonical single-range forms `bytes=a-b`, `bytes=a-` and `bytes=-n` with safe integers.
 * Anything else (several ranges, odd spacing or case, other units, huge numbers) may be ignored (200) or honoured:
 * such answers are only checked for being consistent with themselves.
 */
function expectedRange(header: string, size: number): RangeExpectation {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header);
  if (match === null) return { kind: 'any' };
  const [, firstText = '', lastText = ''] = match;
  if (firstText === '' && lastText === '') return { kind: 'any' };
  const first = firstText === '' ? undefined : Number(firstText);
  const last = lastText === '' ? undefined : Number(lastText);
  if ((first !== undefined && !Number.isSafeInteger(first)) || (last !== undefined && !Number.isSafeInteger(last)))
    return { kind: 'any' };
  if (first === undefined) {
    const suffix = last ?? 0;
    return suffix === 0 || size === 0
      ? { kind: 'unsatisfiable' }
      : { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  if (last !== undefined && last < first) return { kind: 'any' };
  if (first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start: first, end: Math.min(last ?? size - 1, size - 1) };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The one Range header the request carried, when it carried exactly one. */
function singleRange(request: HostileRequest): string | undefined {
  const ranges = request.headers.filter(([name]) => name.toLowerCase() === 'range');
  return ranges.length === 1 ? ranges[0]?.[1] : undefined;
}

/**
 * Properties 1, 2 and 5 of one answer; returns what is wrong (empty when all hold). With a ready cache and a
 * healthy stand-in assisted-service there is no reason for any 5xx: 503 means "cache not ready" and 502/504 mean
 * "assisted-service unreachable, nonsensical or slow", none of which is true while these properties run.
 */
export function answerViolations(request: HostileRequest, response: HostileResponse): string[] {
  const problems: string[] = [];
  if (response.status >= 500)
    problems.push(`status ${response.status}: no 5xx is expected with a ready cache and a healthy assisted-service`);
  if (response.status >= 400 && request.method !== 'HEAD') problems.push(...errorBodyViolations(response));
  problems.push(...lengthViolations(request, response));
  // Whether a Range was honoured as RFC 9110 says is checked on the service's own downloads. The /docs assets come
  // from express.static (range-parser 1.3.0 answers 416 to a suffix range longer than the file, for one): for them
  // only self-consistency is checked.
  const strict = IMAGE_ROUTE_SHAPES.has(request.shape);
  if (response.status === 206) problems.push(...partialViolations(request, response, strict));
  if (response.status === 416) problems.push(...unsatisfiableViolations(request, response, strict));
  if (strict && response.status === 200 && header(response.headers, 'accept-ranges') === 'bytes')
    problems.push(...ignoredRangeViolations(request, response));
  return problems;
}

function errorBodyViolations(response: HostileResponse): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    return [
      `a ${response.status} body is not JSON: ${JSON.stringify(response.body.subarray(0, 120).toString('latin1'))}`,
    ];
  }
  const message = typeof parsed === 'object' && parsed !== null ? (parsed as { message?: unknown }).message : undefined;
  return typeof message === 'string'
    ? []
    : [`a ${response.status} JSON body has no string message: ${response.body.subarray(0, 120).toString('utf8')}`];
}

function lengthViolations(request: HostileRequest, response: HostileResponse): string[] {
  const declared = header(response.headers, 'content-length');
  const download = response.status === 200 || response.status === 206;
  if (download && header(response.headers, 'accept-ranges') === 'bytes' && declared === undefined)
    return ['a download has no Content-Length'];
  if (request.method === 'HEAD')
    return response.body.length === 0 ? [] : [`an answer to HEAD carries ${response.body.length} body bytes`];
  if (declared === undefined || response.status === 304 || response.status === 204) return [];
  if (!/^\d+$/.test(declared)) return [`Content-Length "${declared}" is not a number`];
  return Number(declared) === response.body.length
    ? []
    : [`Content-Length ${declared} but ${response.body.length} body bytes arrived`];
}

function partialViolations(request: HostileRequest, response: HostileResponse, strict: boolean): string[] {
  const contentRange = header(response.headers, 'content-range') ?? '';
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange);
  if (match === null) return [`206 with Content-Range "${contentRange}"`];
  const [start, end, size] = match.slice(1).map(Number) as [number, number, number];
  const problems: string[] = [];
  if (!(start <= end && end < size)) problems.push(`206 with an impossible Content-Range "${contentRange}"`);
  if (Number(header(response.headers, 'content-length')) !== end - start + 1)
    problems.push(`206 Content-Length ${header(response.headers, 'content-length')} for "${contentRange}"`);
  const range = singleRange(request);
  if (!strict) return problems;
  if (range === undefined) return [...problems, 'a 206 to a request without exactly one Range header'];
  const expected = expectedRange(range, size);
  if (expected.kind === 'unsatisfiable') problems.push(`206 "${contentRange}" to an unsatisfiable "${range}"`);
  if (expected.kind === 'partial' && (expected.start !== start || expected.end !== end)) {
    problems.push(`206 "${contentRange}" to "${range}": expected bytes ${expected.start}-${expected.end}/${size}`);
  }
  return problems;
}

function unsatisfiableViolations(request: HostileRequest, response: HostileResponse, strict: boolean): string[] {
  const contentRange = header(response.headers, 'content-range') ?? '';
  const match = /^bytes \*\/(\d+)$/.exec(contentRange);
  if (match === null) return [`416 with Content-Range "${contentRange}", not "bytes */<size>"`];
  if (!strict) return [];
  const range = singleRange(request);
  if (range === undefined) return ['a 416 to a request without exactly one Range header'];
  const expected = expectedRange(range, Number(match[1]));
  return expected.kind === 'partial' ? [`416 to the satisfiable "${range}" of ${match[1]} bytes`] : [];
}

/** A 200 download to a request whose one canonical Range is satisfiable ignored it (unless If-Modified-Since...). */
function ignoredRangeViolations(request: HostileRequest, response: HostileResponse): string[] {
  const range = singleRange(request);
  const size = Number(header(response.headers, 'content-length'));
  if (range === undefined || !Number.isSafeInteger(size)) return [];
  const expected = expectedRange(range, size);
  return expected.kind === 'any'
    ? []
    : [
        `200 to "${range}" on ${size} bytes: expected ${expected.kind === 'partial' ? `206 bytes ${expected.start}-${expected.end}` : '416'}`,
      ];
}

/** Property 3: every path the stand-in assisted-service was asked for, as it arrived on the wire. */
export function upstreamViolations(targets: readonly string[]): string[] {
  return targets
    .map((target) => target.split('?')[0] ?? '')
    .filter((path) => !UPSTREAM_PATH.test(path))
    .map((path) => `assisted-service was asked for ${JSON.stringify(path)}`);
}

/** Status codes counted overall and per route shape, to show what the run reached. */
export class StatusTally {
  private readonly counts = new Map<string, Map<string, number>>();
  total = 0;

  add(shape: string, status: number | string): void {
    this.total++;
    for (const key of ['all', shape]) {
      const counts = this.counts.get(key) ?? new Map<string, number>();
      counts.set(String(status), (counts.get(String(status)) ?? 0) + 1);
      this.counts.set(key, counts);
    }
  }

  /** All statuses on one line: `200×12 404×3`. */
  overall(): string {
    return line(this.counts.get('all'));
  }

  /** One line per route shape, after the overall one. */
  toString(): string {
    return [...this.counts.entries()].map(([shape, counts]) => `  ${shape.padEnd(22)} ${line(counts)}`).join('\n');
  }
}

function line(counts: Map<string, number> | undefined): string {
  return [...(counts ?? new Map<string, number>()).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
}

/**
 * A download's size depends on what it is, not on how it was asked for: the same target (credentials aside) must
 * report the same size in every 200 Content-Length and every 206/416 Content-Range.
 */
export class ResourceSizes {
  private readonly sizes = new Map<string, number>();

  check(request: HostileRequest, response: HostileResponse): string[] {
    const size = totalSizeOf(response);
    if (size === undefined) return [];
    const key = resourceKey(request.target);
    const known = this.sizes.get(key);
    if (known === undefined) this.sizes.set(key, size);
    return known === undefined || known === size ? [] : [`${key} was ${known} bytes before, now ${size}`];
  }
}

function totalSizeOf(response: HostileResponse): number | undefined {
  if (header(response.headers, 'accept-ranges') !== 'bytes') return undefined;
  const contentRange = header(response.headers, 'content-range') ?? '';
  if (response.status === 200) return Number(header(response.headers, 'content-length'));
  if (response.status === 206 || response.status === 416) return Number(/\/(\d+)$/.exec(contentRange)?.[1]);
  return undefined;
}

function resourceKey(target: string): string {
  const [path = '', query = ''] = target.split(/\?(.*)/s);
  const kept = query
    .split('&')
    .filter((pair) => !/^(api_key|image_token)(=|$)/.test(pair))
    .sort();
  return `${path}?${kept.join('&')}`;
}
