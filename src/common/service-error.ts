/**
 * An error that already knows the HTTP answer it deserves. Services throw it; the global filter turns it into
 * a JSON body with the message, so every 4xx/5xx says why.
 */
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

export function isAbortError(error: unknown): boolean {
  return (
    error instanceof Error && (error.name === 'AbortError' || (error as NodeJS.ErrnoException).code === 'ABORT_ERR')
  );
}
