export const REDACTED = 'REDACTED';

/**
 * `name` as a pattern source that also matches any of its characters written as a percent-escape, in either case
 * (`api%5Fkey`, `%41PI_KEY`, `by%74oken`): Express decodes names before the service reads them, so a credential
 * spelled that way is accepted and must not slip past the redactor.
 */
function escapable(name: string): string {
  return name
    .split('')
    .map((char) => {
      const spellings = new Set([char.toLowerCase(), char.toUpperCase()]);
      const escapes = [...spellings].map((spelling) => `%${spelling.charCodeAt(0).toString(16).padStart(2, '0')}`);
      return `(?:${char.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}|${escapes.join('|')})`;
    })
    .join('');
}

const SECRET_QUERY_NAMES = ['api_key', 'image_token', 'token', 'access_token', 'password', 'secret']
  .map(escapable)
  .join('|');
const SECRET_SEGMENTS = ['bytoken', 'byapikey'].map(escapable).join('|');

/**
 * Patterns of credentials that can reach a log line: query parameters and path segments carrying API keys and
 * image tokens, Authorization-style headers, bearer tokens, JWTs and URL user-info. A parameter's value runs to the
 * next `&` (or whitespace or quote), as Express's query parser reads it: `api_key=abc;secret` is one value.
 */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [new RegExp(`(?<![A-Za-z0-9_])(${SECRET_QUERY_NAMES})(=|%3d)([^&\\s"']+)`, 'gi'), `$1$2${REDACTED}`],
  // A segment starting with ":" is a route template's parameter name, not a value.
  [new RegExp(`\\/(${SECRET_SEGMENTS})(\\/|%2f)(?!:)[^/\\s"'?#]+`, 'gi'), `/$1$2${REDACTED}`],
  [/\b(authorization|image-token|x-auth-token|cookie)(["']?\s*[:=]\s*["']?)([^"'\r\n,}]+)/gi, `$1$2${REDACTED}`],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, `Bearer ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*)?/g, REDACTED],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, `$1${REDACTED}@`],
];

/**
 * Text every pattern above needs, case-insensitive: text without any of it is left alone without running them all
 * (most log strings: paths without credentials, numbers as text, messages). A percent-escape may hide any of the
 * words, so text with one is always checked. Keep in step with SECRET_PATTERNS.
 */
const MIGHT_HOLD_SECRET = /token|api_?key|password|secret|authorization|cookie|bearer|eyJ|@|%[0-9a-f]{2}/i;

/**
 * Redacts credentials in free text; `literals` are exact values known to be secret (configured header values), also
 * found percent-encoded. This is the second line of defence: request lines are built from the parsed request (see
 * request-description.ts) and hold no credential before they get here.
 */
export function redactSecrets(text: string, literals: readonly string[] = []): string {
  let result = text;
  for (const literal of literals) {
    if (literal.length < 4) continue;
    for (const spelling of new Set([literal, encodeURIComponent(literal)])) {
      if (result.includes(spelling)) result = result.split(spelling).join(REDACTED);
    }
  }
  if (!MIGHT_HOLD_SECRET.test(result)) return result;
  for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}
