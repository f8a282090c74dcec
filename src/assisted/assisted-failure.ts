import { redactSecrets } from '../logging/redact.js';
import {
  AssistedInvalidResponseError,
  AssistedTimeoutError,
  AssistedUnreachableError,
  AssistedUpstreamError,
  type AssistedServiceError,
} from './assisted.errors.js';
import type { UpstreamCall } from './assisted-request.js';
import { credentialSecret, type Credential } from './credentials.js';

/** assisted-service's own words are kept, but short: a reason, not a page. */
const MAX_REASON_CHARS = 300;

/** Why a call ended without a response, as the client observed it. */
export interface TransportFailure {
  readonly error: unknown;
  readonly timedOut: boolean;
  readonly timeoutMs: number;
}

/** The error for a non-2xx answer: the same status, plus assisted-service's `reason`/`message` when it sent JSON. */
export function statusError(
  call: UpstreamCall,
  status: number,
  body: Buffer,
  credential: Credential,
): AssistedServiceError {
  if (status >= 300 && status < 400) {
    // Redirects are not followed: an api_key in the query must not travel to wherever Location points.
    return new AssistedInvalidResponseError(
      `assisted-service answered ${call.what} request with an unexpected redirect (${status})`,
    );
  }
  const upstream = upstreamReason(body, credential);
  const reason = `assisted-service answered ${status} to the request for ${call.what}${upstream === undefined ? '' : `: ${upstream}`}`;
  if (status < 400 || status > 599) return new AssistedInvalidResponseError(reason);
  return new AssistedUpstreamError(status, reason);
}

/** The error for a call that produced no usable response: a timeout (504) or a transport failure (502). */
export function transportError(
  call: UpstreamCall,
  failure: TransportFailure,
  credential: Credential,
): AssistedServiceError {
  const { error } = failure;
  const code = errorCode(error);
  if (failure.timedOut || code === 'ETIMEDOUT' || code === 'ECONNABORTED') {
    return new AssistedTimeoutError(
      `assisted-service did not answer the request for ${call.what} within ${failure.timeoutMs} ms`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  const detail = scrubSecrets(
    code === undefined || message.includes(code) ? message : `${code}: ${message}`,
    credential,
  );
  return new AssistedUnreachableError(`could not get ${call.what} from assisted-service: ${truncate(detail)}`);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** assisted-service's error bodies are `{"code", "reason", ...}`; other services say `message`. */
export function upstreamReason(body: Buffer, credential: Credential): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { reason, message } = parsed as Record<string, unknown>;
  const text = typeof reason === 'string' && reason !== '' ? reason : typeof message === 'string' ? message : undefined;
  return text === undefined || text.trim() === '' ? undefined : truncate(scrubSecrets(text, credential));
}

/**
 * Removes the request's own credential (assisted-service may echo a bad token back) and anything else that looks
 * like one. The logger redacts too; this keeps credentials out of response bodies, which it never sees.
 */
export function scrubSecrets(text: string, credential: Credential): string {
  const secret = credentialSecret(credential);
  // An Authorization value is "<scheme> <token>": the token may be echoed alone.
  const literals = secret === undefined ? [] : [secret, ...secret.split(/\s+/).filter((part) => part.length >= 8)];
  return redactSecrets(text, literals);
}

function truncate(text: string): string {
  // Control characters would let an upstream body forge extra log lines or headers.
  // oxlint-disable-next-line no-control-regex -- control characters are exactly what must go.
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length <= MAX_REASON_CHARS ? flat : `${flat.slice(0, MAX_REASON_CHARS)}…`;
}
