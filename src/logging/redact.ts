import type { Request } from 'express';

const REDACTED = 'REDACTED';

/**
 * `name` (letters and `_`) as a pattern that also matches each character percent-escaped, in either case
 * (`api%5Fkey`, `%41PI_KEY`, `by%74oken`): Express decodes names, so a credential spelled so is accepted all the same.
 */
function escapable(name: string): string {
  const hex = (char: string): string => `%${char.charCodeAt(0).toString(16)}`;
  return Array.from(name, (char) => `(?:${char}|${hex(char.toLowerCase())}|${hex(char.toUpperCase())})`).join('');
}

const SECRET_QUERY_NAMES = ['api_key', 'image_token', 'token', 'access_token', 'password', 'secret'].map(escapable);
const SECRET_SEGMENTS = ['bytoken', 'byapikey'].map(escapable);

/** A parameter's value runs to the next `&`, as Express's query parser reads it: `api_key=abc;secret` is one value. */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [new RegExp(`(?<![A-Za-z0-9_])(${SECRET_QUERY_NAMES.join('|')})(=|%3d)([^&\\s"']+)`, 'gi'), `$1$2${REDACTED}`],
  // A segment starting with ":" is a route template's parameter name, not a value.
  [new RegExp(`\\/(${SECRET_SEGMENTS.join('|')})(\\/|%2f)(?!:)[^/\\s"'?#]+`, 'gi'), `/$1$2${REDACTED}`],
  [/\b(authorization|image-token|x-auth-token|cookie)(["']?\s*[:=]\s*["']?)([^"'\r\n,}]+)/gi, `$1$2${REDACTED}`],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, `Bearer ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*)?/g, REDACTED],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, `$1${REDACTED}@`],
];

/** What every pattern above needs (a percent-escape may hide any of it): most text skips them all. */
const MIGHT_HOLD_SECRET = /token|api_?key|password|secret|authorization|cookie|bearer|eyJ|@|%[0-9a-f]{2}/i;

/**
 * Redacts credentials in free text, and `literals` (configured secret values, four characters or more) as they are
 * or percent-encoded. The second line of defence: request lines are built by describeRequest and hold none.
 */
export function redactSecrets(text: string, literals: readonly string[] = []): string {
  let result = text;
  for (const literal of literals.filter((secret) => secret.length >= 4))
    for (const spelling of new Set([literal, encodeURIComponent(literal)]))
      result = result.replaceAll(spelling, REDACTED);
  if (!MIGHT_HOLD_SECRET.test(result)) return result;
  for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

const HARMLESS_ROUTE_PARAMETERS: ReadonlySet<string> = new Set(['image_id', 'version', 'arch', 'filename', 'artifact']);
const HARMLESS_QUERY_PARAMETERS: ReadonlySet<string> = new Set(['version', 'arch', 'type']);
/** A template with literal segments and `:name` parameters only, which a path can be rebuilt from. */
const PLAIN_TEMPLATE = /^(\/([^/:*?(){}]*|:[A-Za-z_$][\w$]*))*\/?$/;
/** Bounds on what a client controls, so one request cannot make a huge log line. */
const MAX_TEXT_CHARS = 128;
const MAX_QUERY_PARAMETERS = 16;
const MAX_PATH_SEGMENTS = 32;

/**
 * What a log line may say about a request: built from what the router and query parser made of it, never from the
 * raw URL (which can spell a credential in ways patterns miss); only harmless parameters keep their values.
 */
export function describeRequest(request: Request): Record<'method' | 'route' | 'path' | 'query' | 'text', string> {
  // The route template Express matched (`/images/:image_id`), or `unmatched`: bounded, and never a credential.
  const template: unknown = (request as Request & { route?: { path?: unknown } }).route?.path;
  const route = typeof template === 'string' ? `${request.baseUrl}${template}` : 'unmatched';
  const path = (route === 'unmatched' ? undefined : pathFromRoute(route, request.params)) ?? pathFromClient(request);
  const query = describeQuery(request.query);
  return { method: request.method, route, path, query, text: `${request.method} ${path}${query && `?${query}`}` };
}

function pathFromRoute(template: string, params: Request['params'] | undefined): string | undefined {
  if (!PLAIN_TEMPLATE.test(template)) return undefined;
  const segments: string[] = [];
  for (const segment of template.split('/')) {
    const name = segment.startsWith(':') ? segment.slice(1) : undefined;
    const value: unknown = name === undefined ? segment : params?.[name];
    if (typeof value !== 'string') return undefined;
    segments.push(name === undefined || HARMLESS_ROUTE_PARAMETERS.has(name) ? bounded(value) : REDACTED);
  }
  return segments.join('/');
}

/** No route matched: the path decoded until no `by%2574oken` or `bytoken%2F…` is left, the credential redacted. */
function pathFromClient(request: Request): string {
  const segments = fullyDecoded(request.originalUrl.split('?', 1)[0] ?? '').split('/');
  const shown = segments.slice(0, MAX_PATH_SEGMENTS).map((segment, index) => {
    const previous = segments[index - 1]?.toLowerCase();
    return previous === 'bytoken' || previous === 'byapikey' ? REDACTED : bounded(segment);
  });
  return `${shown.join('/')}${segments.length > MAX_PATH_SEGMENTS ? '/…' : ''}`;
}

function describeQuery(query: unknown): string {
  if (typeof query !== 'object' || query === null) return '';
  const entries = Object.entries(query);
  const parts = entries.slice(0, MAX_QUERY_PARAMETERS).flatMap(([name, value]) =>
    (Array.isArray(value) ? (value as unknown[]) : [value]).map((one) => {
      // Percent-encoded, so `&` and `=` in a name or value cannot pass for separators.
      const shown =
        HARMLESS_QUERY_PARAMETERS.has(name) && typeof one === 'string' ? bounded(one, encodeURIComponent) : REDACTED;
      return `${bounded(name, encodeURIComponent)}=${shown}`;
    }),
  );
  if (entries.length > MAX_QUERY_PARAMETERS) parts.push(`…${entries.length - MAX_QUERY_PARAMETERS} more`);
  return parts.join('&');
}

/** At most MAX_TEXT_CHARS, `…` when cut, cut between code points: a lone surrogate cannot be percent-encoded. */
function bounded(text: string, encode = (shown: string): string => shown): string {
  if (text.length <= MAX_TEXT_CHARS) return encode(text);
  const end = /[\uD800-\uDBFF]/.test(text.charAt(MAX_TEXT_CHARS - 1)) ? MAX_TEXT_CHARS - 1 : MAX_TEXT_CHARS;
  return `${encode(text.slice(0, end))}…`;
}

/** Escapes decoded a few rounds until none is left; a run of escapes that is not UTF-8 stays as it is. */
function fullyDecoded(text: string, rounds = 4): string {
  const next = text.replace(/(%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
  return next === text || rounds === 1 ? next : fullyDecoded(next, rounds - 1);
}
