/** An error that knows the HTTP answer it deserves: the global filter sends its status, headers and message as JSON. */
export class ServiceError extends Error {
  override name = 'ServiceError';

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `problem` and the reason `attempt` threw, or undefined when it did not. */
export function failure(problem: string, attempt: () => unknown): string | undefined {
  try {
    attempt();
  } catch (error) {
    return `${problem}: ${errorMessage(error)}`;
  }
}

/** A client that went away: an `AbortError` from a signal or a stream, not a failure. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

/** Image ids are lowercase UUIDs, as assisted-service makes them: nothing else may shape a call to it. */
export function isLowercaseUuid(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value);
}
