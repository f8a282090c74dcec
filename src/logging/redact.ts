const REDACTED = 'REDACTED';

/**
 * Patterns of credentials that can reach a log line: query parameters and path segments carrying API keys and
 * image tokens, Authorization-style headers, bearer tokens, JWTs and URL user-info.
 */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/\b(api_key|image_token|token|access_token|password|secret)=([^&\s"',;]+)/gi, `$1=${REDACTED}`],
  // A segment starting with ":" is a route template's parameter name, not a value.
  [/\/(bytoken|byapikey)\/(?!:)[^/\s"'?#]+/gi, `/$1/${REDACTED}`],
  [/\b(authorization|image-token|x-auth-token|cookie)(["']?\s*[:=]\s*["']?)([^"'\r\n,}]+)/gi, `$1$2${REDACTED}`],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, `Bearer ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*)?/g, REDACTED],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, `$1${REDACTED}@`],
];

/**
 * Text every pattern above needs, case-insensitive: text without any of it is left alone without running them all
 * (most log strings: paths without credentials, numbers as text, messages). Keep in step with SECRET_PATTERNS.
 */
const MIGHT_HOLD_SECRET = /token|api_?key|password|secret|authorization|cookie|bearer|eyJ|@/i;

/** Redacts credentials in free text; `literals` are exact values known to be secret (configured header values). */
export function redactSecrets(text: string, literals: readonly string[] = []): string {
  let result = text;
  for (const literal of literals) {
    if (literal.length >= 4 && result.includes(literal)) result = result.split(literal).join(REDACTED);
  }
  if (!MIGHT_HOLD_SECRET.test(result)) return result;
  for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}
