import { Injectable } from '@nestjs/common';
import { InjectMetric } from './prometheus.js';
import type { NextFunction, Request, Response } from 'express';
import type { Gauge, Histogram } from 'prom-client';
import { HTTP_REQUEST_DURATION, HTTP_REQUESTS_INFLIGHT, HTTP_RESPONSE_SIZE } from './metric-names.js';
import { RequestLog } from '../logging/request-log.js';
import { requestEnd } from '../server/request-end.js';

type RequestLabels = 'method' | 'handler' | 'code';

/**
 * Express middleware that observes every request, matched or not: duration and body size histograms by
 * method, route template and status, in-flight count, and one request log line. All are recorded once, when the
 * request ends however it ends (RequestEnd: the response finished or closed, or its connection went), so long
 * downloads are timed to their end (an interceptor would stop the clock when the handler returns) and a pipelined
 * request whose connection died does not stay in flight.
 */
@Injectable()
export class HttpObserver {
  constructor(
    @InjectMetric(HTTP_REQUEST_DURATION) private readonly duration: Histogram<RequestLabels>,
    @InjectMetric(HTTP_RESPONSE_SIZE) private readonly size: Histogram<RequestLabels>,
    @InjectMetric(HTTP_REQUESTS_INFLIGHT) private readonly inflight: Gauge<'method' | 'group'>,
    private readonly requestLog: RequestLog,
  ) {}

  readonly middleware = (request: Request, response: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const inflightLabels = { method: request.method, group: routeGroup(request.path) };
    const counter = countBodyBytes(response);
    this.inflight.inc(inflightLabels);
    requestEnd(response).onEnd(() => {
      this.inflight.dec(inflightLabels);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const handler = routeTemplate(request);
      const labels = { method: request.method, handler, code: String(response.statusCode) };
      this.duration.observe(labels, seconds);
      this.size.observe(labels, counter.bytes);
      this.requestLog.write({
        request,
        response,
        handler,
        bytes: counter.bytes,
        seconds,
        completed: response.writableFinished,
      });
    });
    next();
  };
}

/** The route template Express matched (`/images/:image_id`), never the raw path: bounded label values, no secrets. */
export function routeTemplate(request: Request): string {
  const route: unknown = (request as Request & { route?: { path?: unknown } }).route;
  const path = typeof route === 'object' && route !== null ? (route as { path?: unknown }).path : undefined;
  return typeof path === 'string' ? `${request.baseUrl}${path}` : 'unmatched';
}

const GROUPS = new Set([
  'images',
  'byid',
  'bytoken',
  'byapikey',
  'boot-artifacts',
  'health',
  'live',
  'metrics',
  'docs',
  'openapi.json',
]);

/** Routing has not happened when a request starts: the first path segment stands in for the route. */
function routeGroup(path: string): string {
  const segment = path.split('/')[1] ?? '';
  return GROUPS.has(segment) ? segment : 'other';
}

function countBodyBytes(response: Response): { bytes: number } {
  const counter = { bytes: 0 };
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => Response;
  const count = (chunk: unknown, encoding: unknown): void => {
    if (Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) counter.bytes += chunk.byteLength;
    else if (typeof chunk === 'string')
      counter.bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  };
  response.write = ((chunk: unknown, ...rest: unknown[]) => {
    count(chunk, rest[0]);
    return write(chunk, ...rest);
  }) as Response['write'];
  response.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') count(chunk, rest[0]);
    return end(chunk, ...rest);
  }) as Response['end'];
  return counter;
}
