import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AssistedServiceError } from '../assisted/assisted.errors.js';
import { JsonLogger } from '../logging/json-logger.js';
import { describeRequest } from '../logging/request-description.js';
import { ServiceError, isAbortError } from './service-error.js';

interface HttpError {
  readonly status: number;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
  /** A body an HttpException brought along (e.g. the health check result), sent as it is. */
  readonly body?: object;
}

/**
 * The one place errors become responses. Before headers: a JSON body `{statusCode, error, message}` that says
 * why. After headers (a stream failed midway): the connection is destroyed so the client sees a broken
 * download, not a short "complete" one. A client that went away needs no answer and is not an error.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(private readonly logger: JsonLogger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const response = context.getResponse<Response>();
    const request = context.getRequest<Request>();
    if (isAbortError(error) || clientGone(request, response)) {
      this.logger.debug(`client went away: ${describeRequest(request).text}`, 'AllExceptionsFilter');
      return;
    }
    if (response.headersSent) {
      this.logger.error(`response failed after headers: ${describe(error)}`, 'AllExceptionsFilter');
      response.destroy();
      return;
    }
    const http = toHttpError(error);
    // Errors the code raised on purpose (a 503 readiness answer, an upstream 502) are answers, not failures: only
    // the unexpected ones are logged, with their stack.
    const deliberate =
      error instanceof ServiceError || error instanceof AssistedServiceError || error instanceof HttpException;
    if (http.status >= 500 && !deliberate) {
      // A space, not a colon, after the request: the redactor reads a query value up to whitespace.
      this.logger.error(
        `${describeRequest(request).text} failed: ${describe(error)}`,
        error instanceof Error ? error.stack : undefined,
        'AllExceptionsFilter',
      );
    }
    response
      .status(http.status)
      .set(http.headers)
      .json(
        http.body ?? { statusCode: http.status, error: STATUS_CODES[http.status] ?? 'Error', message: http.message },
      );
  }
}

export function toHttpError(error: unknown): HttpError {
  if (error instanceof ServiceError) return { status: error.status, message: error.message, headers: error.headers };
  if (error instanceof AssistedServiceError) return { status: error.status, message: error.reason, headers: {} };
  if (error instanceof HttpException) {
    const body = error.getResponse();
    const structured = typeof body === 'object' && !('message' in body) ? { body } : {};
    return { status: error.getStatus(), message: httpExceptionMessage(error), headers: {}, ...structured };
  }
  return { status: 500, message: 'internal error: the failure was logged', headers: {} };
}

/** Validation errors come as a list of messages; a sentence reads better in a JSON error. */
function httpExceptionMessage(error: HttpException): string {
  const body = error.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return typeof message === 'string' ? message : error.message;
}

/**
 * Whether the connection is gone. Not `request.destroyed`: a request whose body the body parser read to the end is
 * destroyed too (streams auto-destroy after 'end'), and taking that for a gone client left such requests unanswered.
 */
function clientGone(request: Request, response: Response): boolean {
  return response.destroyed || request.socket?.destroyed === true;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
