import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { JsonLogger } from './json-logger.js';
import { describeRequest } from './request-description.js';

export interface ObservedRequest {
  readonly request: Request;
  readonly response: Response;
  readonly handler: string;
  readonly bytes: number;
  readonly seconds: number;
  /** False when the client went away before the response was complete. */
  readonly completed: boolean;
}

/** Probes hit these every few seconds; their lines are debug so they do not drown the downloads. */
const PROBE_ROUTES = new Set(['/health', '/live', '/metrics']);

/**
 * One line per request: method, route, path, query, status, bytes, duration. Path and query come from the parsed
 * request with credentials already replaced (request-description.ts); the logger's redaction is a second line.
 */
@Injectable()
export class RequestLog {
  constructor(private readonly logger: JsonLogger) {}

  write({ request, response, handler, bytes, seconds, completed }: ObservedRequest): void {
    const status = response.statusCode;
    const level = PROBE_ROUTES.has(handler) ? 'debug' : status >= 500 ? 'warn' : 'info';
    const described = describeRequest(request);
    this.logger.record(level, 'HttpRequest', `${request.method} ${handler} ${status}`, {
      method: request.method,
      route: handler,
      path: described.path,
      query: described.query,
      status,
      bytes,
      durationMs: Math.round(seconds * 1000),
      aborted: !completed,
      remote: request.ip ?? null,
      userAgent: request.get('user-agent') ?? null,
    });
  }
}
