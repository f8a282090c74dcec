import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ServiceError, isAbortError } from '../common/service-error.js';
import { JsonLogger } from '../logging/json-logger.js';
import { describeRequest } from '../logging/redact.js';
import { errorBody } from './protocol-errors.js';

/** Errors become responses here: a JSON body before headers, after them a destroyed connection (not a short file). */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(private readonly logger: JsonLogger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request>();
    // Not `request.destroyed`: a request read to its end is destroyed too, with its client still there.
    if (isAbortError(error) || response.destroyed || request.socket?.destroyed === true) {
      this.logger.debug(`client went away: ${describeRequest(request).text}`, AllExceptionsFilter.name);
    } else if (response.headersSent) {
      this.logger.error(`response failed after headers: ${describe(error)}`, AllExceptionsFilter.name);
      response.destroy();
    } else if (error instanceof ServiceError) {
      response.status(error.status).set(error.headers).json(errorBody(error.status, error.message));
    } else if (error instanceof HttpException) {
      // A body without a message (the health check result) is sent as it is.
      const answer = error.getResponse();
      const structured = typeof answer === 'object' && !('message' in answer);
      response.status(error.getStatus()).json(structured ? answer : errorBody(error.getStatus(), messageOf(error)));
    } else {
      // Only the unexpected is logged, with its stack: a deliberate 503 or 502 is an answer, not a failure.
      // A space, not a colon, after the request: the redactor reads a query value up to whitespace.
      const stack = error instanceof Error ? error.stack : undefined;
      this.logger.error(`${describeRequest(request).text} failed: ${describe(error)}`, stack, AllExceptionsFilter.name);
      response.status(500).json(errorBody(500, 'internal error: the failure was logged'));
    }
  }
}

/** Validation errors come as a list of messages; a sentence reads better in a JSON error. */
function messageOf(error: HttpException): string {
  const answer = error.getResponse();
  const message = typeof answer === 'string' ? answer : (answer as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return typeof message === 'string' ? message : error.message;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
