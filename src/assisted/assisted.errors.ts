import { ServiceError } from '../common/service-error.js';
import { redactSecrets } from '../logging/redact.js';
import type { Credential } from './credentials.js';

/** Errors of the assisted-service adapter: each carries the status the user gets and a credential-free message. */
export abstract class AssistedServiceError extends ServiceError {
  override readonly name: string = this.constructor.name;
}

/** A 4xx or 5xx answer, passed on with the same status. */
export class AssistedUpstreamError extends AssistedServiceError {}

/** Refused, reset, DNS, TLS. */
export class AssistedUnreachableError extends AssistedServiceError {
  constructor(message: string) {
    super(502, message);
  }
}

/** A redirect, or an answer that makes no sense: the user cannot fix it by changing their request. */
export class AssistedInvalidResponseError extends AssistedUnreachableError {}

export class AssistedTimeoutError extends AssistedServiceError {
  constructor(message: string) {
    super(504, message);
  }
}

export class AssistedNotConfiguredError extends AssistedServiceError {
  constructor() {
    super(
      500,
      'assisted-service is not configured: set ASSISTED_SERVICE_URL (or ASSISTED_SERVICE_SCHEME and ASSISTED_SERVICE_HOST)',
    );
  }
}

/** Controllers validate ids first; this last line of defence keeps any other id out of an upstream path. */
export class InvalidInfraEnvIdError extends AssistedServiceError {
  constructor() {
    super(400, 'the image id must be a lowercase UUID');
  }
}

/** A token from the query may hold anything percent-encoded: it is refused rather than altered on its way on. */
export class InvalidCredentialError extends AssistedServiceError {
  constructor(what: string) {
    super(
      400,
      `the ${what} cannot be passed to assisted-service: it holds characters an HTTP header cannot carry (only printable ASCII)`,
    );
  }
}

/** The infra-env's content cannot fit the image: 400, remembered for the whole cache TTL. */
export class DoesNotFitError extends AssistedServiceError {
  constructor(message: string) {
    super(400, message);
  }
}

export class UpstreamBudgetExceededError extends AssistedServiceError {
  constructor(what: string, budgetBytes: number) {
    super(
      503,
      `too many large responses from assisted-service are being read at once (their ${budgetBytes}-byte memory budget is used up); ` +
        `the request for ${what} was dropped, try again shortly`,
      // Bodies are held at most one call timeout, and mostly far less.
      { 'Retry-After': '5' },
    );
  }
}

/** Named like the platform's, so the global filter and the request log treat it as a client abort. */
export class AssistedRequestAbortedError extends Error {
  override readonly name = 'AbortError';

  constructor(cause?: unknown) {
    super('the request to assisted-service was abandoned because the client went away', { cause });
  }
}

/** assisted-service's own words are kept, but short: a reason, not a page. */
const MAX_REASON_CHARS = 300;

/** The error for a non-2xx answer: the same status, plus assisted-service's `reason`/`message` when it sent JSON. */
export function statusError(what: string, status: number, body: Buffer, credential: Credential): AssistedServiceError {
  if (status >= 300 && status < 400)
    return new AssistedInvalidResponseError(
      `assisted-service answered ${what} request with an unexpected redirect (${status})`,
    );
  const upstream = upstreamReason(body, credential);
  const reason = `assisted-service answered ${status} to the request for ${what}${upstream === undefined ? '' : `: ${upstream}`}`;
  return status < 400 || status > 599
    ? new AssistedInvalidResponseError(reason)
    : new AssistedUpstreamError(status, reason);
}

/** The error for a call that produced no usable response: a timeout (504) or a transport failure (502). */
export function transportError(
  what: string,
  failure: { readonly error: unknown; readonly timedOut: boolean; readonly timeoutMs: number },
  credential: Credential,
): AssistedServiceError {
  const { error, timeoutMs } = failure;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (failure.timedOut || code === 'ETIMEDOUT' || code === 'ECONNABORTED')
    return new AssistedTimeoutError(`assisted-service did not answer the request for ${what} within ${timeoutMs} ms`);
  const message = error instanceof Error ? error.message : String(error);
  const detail = typeof code !== 'string' || message.includes(code) ? message : `${code}: ${message}`;
  return new AssistedUnreachableError(
    `could not get ${what} from assisted-service: ${truncate(scrubSecrets(detail, credential))}`,
  );
}

/** assisted-service's error bodies are `{"code", "reason", ...}`; other services say `message`. */
function upstreamReason(body: Buffer, credential: Credential): string | undefined {
  let parsed: { reason?: unknown; message?: unknown } | null;
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    return undefined;
  }
  const text = [parsed?.reason, parsed?.message].find((value) => typeof value === 'string' && value !== '');
  return typeof text === 'string' && text.trim() !== '' ? truncate(scrubSecrets(text, credential)) : undefined;
}

/** Removes the request's own credential (assisted-service may echo a bad one back): the logger never sees bodies. */
export function scrubSecrets(text: string, credential: Credential): string {
  if (credential.kind === 'none') return redactSecrets(text, []);
  // An Authorization value is "<scheme> <token>": the token may be echoed alone.
  return redactSecrets(text, [credential.value, ...credential.value.split(/\s+/).filter((part) => part.length >= 8)]);
}

/** Flat and short: control characters would let an upstream body forge extra log lines or headers. */
function truncate(text: string): string {
  // oxlint-disable-next-line no-control-regex -- control characters are exactly what must go.
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length <= MAX_REASON_CHARS ? flat : `${flat.slice(0, MAX_REASON_CHARS)}…`;
}
