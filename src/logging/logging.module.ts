import { Global, Injectable, Module, type DynamicModule } from '@nestjs/common';
import type { Request, Response } from 'express';
import { LoggingConfig } from '../config/app-config.js';
import { JsonLogger, type LogWriter } from './json-logger.js';
import { describeRequest } from './redact.js';

/** Probes come every few seconds: their lines are debug so they do not drown the downloads. */
const PROBE_ROUTES = new Set(['/health', '/live', '/metrics']);

/** The line every request gets, with path and query as describeRequest shows them. */
@Injectable()
export class RequestLog {
  constructor(private readonly logger: JsonLogger) {}

  write(request: Request, response: Response, route: string, bytes: number, seconds: number, completed: boolean): void {
    const { method } = request;
    const status = response.statusCode;
    const level = PROBE_ROUTES.has(route) ? 'debug' : status >= 500 ? 'warn' : 'info';
    const { path, query } = describeRequest(request);
    const durationMs = Math.round(seconds * 1000);
    const remote = request.ip ?? null;
    const userAgent = request.get('user-agent') ?? null;
    const fields = { method, route, path, query, status, bytes, durationMs, aborted: !completed, remote, userAgent };
    this.logger.record(level, 'HttpRequest', `${method} ${route} ${status}`, fields);
  }
}

@Global()
@Module({})
export class LoggingModule {
  /** `writer` defaults to standard output; tests pass their own to capture lines. */
  static forRoot(writer?: LogWriter): DynamicModule {
    const logger = {
      provide: JsonLogger,
      inject: [LoggingConfig],
      useFactory: (config: LoggingConfig) => new JsonLogger(config.level, writer, config.secretValues),
    };
    return { module: LoggingModule, providers: [logger, RequestLog], exports: [JsonLogger, RequestLog] };
  }
}
