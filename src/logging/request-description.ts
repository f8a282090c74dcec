import type { Request } from 'express';
import { REDACTED } from './redact.js';

/**
 * What a log line may say about a request. Built from what the router and the query parser made of the request —
 * the values the service itself acts on — never from the raw URL: a client can spell a credential in ways a pattern
 * over the raw text misses (`api%5Fkey=…`, `by%74oken/…`, `api_key=a;b`), while the parsed form has one spelling.
 */
export interface RequestDescription {
  readonly method: string;
  /** The route template the router matched (`/images/:image_id`), or `unmatched`. */
  readonly route: string;
  /** The path without its query, percent-decoded, with every credential segment replaced by REDACTED. */
  readonly path: string;
  /** The parsed query parameters, `name=value&…`; only harmless parameters keep their values. Empty without a query. */
  readonly query: string;
  /** `METHOD path?query`, for messages. */
  readonly text: string;
}

/** Route parameters that are never credentials; any other (`token`, `api_key`, one added later) is redacted. */
const HARMLESS_ROUTE_PARAMETERS: ReadonlySet<string> = new Set(['image_id', 'version', 'arch', 'filename', 'artifact']);
/** Query parameters that are never credentials; any other value (`api_key`, `image_token`, unknown ones) is redacted. */
const HARMLESS_QUERY_PARAMETERS: ReadonlySet<string> = new Set(['version', 'arch', 'type']);
/** Segments of a path the router did not match that are followed by a credential (`/bytoken/{token}/…`). */
const CREDENTIAL_PREFIXES: ReadonlySet<string> = new Set(['bytoken', 'byapikey']);
/** A route template this module can rebuild a path from: literal segments and `:name` parameters only. */
const PLAIN_TEMPLATE = /^(\/([^/:*?(){}]*|:[A-Za-z_$][\w$]*))*\/?$/;
/** Bounds for what a client controls, so one request cannot make a huge log line. */
const MAX_TEXT_CHARS = 128;
const MAX_QUERY_PARAMETERS = 16;
const MAX_PATH_SEGMENTS = 32;

/** The one description of a request that log lines use. */
export function describeRequest(request: Request): RequestDescription {
  const route = matchedRoute(request);
  const path =
    (route === undefined ? undefined : pathFromRoute(route, request.params)) ?? pathFromClient(request.originalUrl);
  const query = describeQuery(request);
  return {
    method: request.method,
    route: route ?? 'unmatched',
    path,
    query,
    text: `${request.method} ${path}${query === '' ? '' : `?${query}`}`,
  };
}

function matchedRoute(request: Request): string | undefined {
  const route: unknown = (request as Request & { route?: unknown }).route;
  const path = typeof route === 'object' && route !== null ? (route as { path?: unknown }).path : undefined;
  return typeof path === 'string' ? `${request.baseUrl}${path}` : undefined;
}

/** The template with each parameter filled in as the router decoded it; undefined when the template is not plain. */
function pathFromRoute(template: string, params: Request['params'] | undefined): string | undefined {
  if (!PLAIN_TEMPLATE.test(template)) return undefined;
  const segments: string[] = [];
  for (const segment of template.split('/')) {
    if (!segment.startsWith(':')) {
      segments.push(segment);
      continue;
    }
    const name = segment.slice(1);
    const value: unknown = params?.[name];
    if (typeof value !== 'string') return undefined;
    segments.push(HARMLESS_ROUTE_PARAMETERS.has(name) ? bounded(value) : REDACTED);
  }
  return segments.join('/');
}

/**
 * The client's path, for requests no route matched: decoded until no escape is left, and the segment after a
 * credential prefix redacted. Decoding fully first means no escape (`by%74oken`, `by%2574oken`, `bytoken%2F…`)
 * hides a prefix or a separator from the check, whatever the client thought it was sending.
 */
function pathFromClient(originalUrl: string): string {
  const segments = fullyDecoded(originalUrl.split('?', 1)[0] ?? '').split('/');
  const shown = segments.slice(0, MAX_PATH_SEGMENTS).map((segment, index) => {
    const previous = index > 0 ? segments[index - 1] : undefined;
    return previous !== undefined && CREDENTIAL_PREFIXES.has(previous.toLowerCase()) ? REDACTED : bounded(segment);
  });
  return `${shown.join('/')}${segments.length > MAX_PATH_SEGMENTS ? '/…' : ''}`;
}

function describeQuery(request: Request): string {
  const query: unknown = request.query;
  if (typeof query !== 'object' || query === null) return '';
  const entries = Object.entries(query);
  const parts = entries.slice(0, MAX_QUERY_PARAMETERS).flatMap(([name, value]) => {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    return values.map((one) => `${encodedBounded(name)}=${describeQueryValue(name, one)}`);
  });
  if (entries.length > MAX_QUERY_PARAMETERS) parts.push(`…${entries.length - MAX_QUERY_PARAMETERS} more`);
  return parts.join('&');
}

function describeQueryValue(name: string, value: unknown): string {
  return HARMLESS_QUERY_PARAMETERS.has(name) && typeof value === 'string' ? encodedBounded(value) : REDACTED;
}

/** At most MAX_TEXT_CHARS characters, cut between code points (a lone surrogate could not be encoded), `…` if cut. */
function bounded(text: string): string {
  return text.length > MAX_TEXT_CHARS ? `${cut(text)}…` : text;
}

/** Percent-encoded, so `&` and `=` in a name or value cannot be mistaken for separators. */
function encodedBounded(text: string): string {
  return text.length > MAX_TEXT_CHARS ? `${encodeURIComponent(cut(text))}…` : encodeURIComponent(text);
}

function cut(text: string): string {
  const end = /[\uD800-\uDBFF]/.test(text.charAt(MAX_TEXT_CHARS - 1)) ? MAX_TEXT_CHARS - 1 : MAX_TEXT_CHARS;
  return text.slice(0, end);
}

/** Percent-escapes decoded a few rounds, until none is left; a run of escapes that is not UTF-8 stays as it is. */
function fullyDecoded(text: string): string {
  let current = text;
  for (let round = 0; round < 4; round++) {
    const next = current.replace(/(%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
    if (next === current) break;
    current = next;
  }
  return current;
}
