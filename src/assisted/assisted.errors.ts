/**
 * Domain errors of the assisted-service adapter. Each carries the HTTP status the user should get and a short
 * reason without credentials, so one global exception filter can map them all to responses.
 */
export abstract class AssistedServiceError extends Error {
  abstract readonly status: number;
  /** Short, credential-free text for the response body. */
  get reason(): string {
    return this.message;
  }
}

/** assisted-service answered with a non-2xx status: the user gets the same status (401/403/404 must reach them). */
export class AssistedUpstreamError extends AssistedServiceError {
  override readonly name = 'AssistedUpstreamError';

  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** assisted-service could not be reached or talked to (refused, reset, DNS, TLS): 502. */
export class AssistedUnreachableError extends AssistedServiceError {
  override readonly name: string = 'AssistedUnreachableError';
  readonly status = 502;
}

/**
 * assisted-service answered 2xx but with something unusable: a body that does not parse, an invalid
 * `kernel_arguments`, a response over the size cap, a redirect. Still 502: the gateway got garbage from upstream,
 * and the user cannot fix it by changing their request.
 */
export class AssistedInvalidResponseError extends AssistedUnreachableError {
  override readonly name = 'AssistedInvalidResponseError';
}

/** No answer within the configured timeout: 504. */
export class AssistedTimeoutError extends AssistedServiceError {
  override readonly name = 'AssistedTimeoutError';
  readonly status = 504;
}

/** ASSISTED_SERVICE_URL (or scheme + host) is not set, so no customisation can be fetched: 500. */
export class AssistedNotConfiguredError extends AssistedServiceError {
  override readonly name = 'AssistedNotConfiguredError';
  readonly status = 500;

  constructor() {
    super(
      'assisted-service is not configured: set ASSISTED_SERVICE_URL (or ASSISTED_SERVICE_SCHEME and ASSISTED_SERVICE_HOST)',
    );
  }
}

/**
 * An infra-env id that is not a lowercase UUID reached the client. Controllers validate ids first, so this is a
 * last line of defence: such an id never shapes the path of an upstream call. 400: it is the request that is wrong.
 */
export class InvalidInfraEnvIdError extends AssistedServiceError {
  override readonly name = 'InvalidInfraEnvIdError';
  readonly status = 400;

  constructor() {
    super('the image id must be a lowercase UUID');
  }
}

/**
 * The request's image token or Authorization value holds characters an HTTP header cannot carry (a token from the
 * query string may hold anything percent-encoded): it is refused rather than altered on its way to assisted-service.
 * 400: it is the request that is wrong.
 */
export class InvalidCredentialError extends AssistedServiceError {
  override readonly name = 'InvalidCredentialError';
  readonly status = 400;

  constructor(what: string) {
    super(
      `the ${what} cannot be passed to assisted-service: it holds characters an HTTP header cannot carry (only printable ASCII)`,
    );
  }
}

/**
 * The caller's signal fired (the client went away). Named `AbortError` like the platform's, so the global filter
 * and the request log treat it as a client abort, not a failure.
 */
export class AssistedRequestAbortedError extends Error {
  override readonly name = 'AbortError';

  constructor(cause?: unknown) {
    super('the request to assisted-service was abandoned because the client went away', { cause });
  }
}
