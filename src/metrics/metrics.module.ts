import { Controller, Get, Global, Header, Injectable, Module } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { Registry, type Gauge, type Histogram } from 'prom-client';
import { requestEnd } from '../common/request-end.js';
import { RequestLog } from '../logging/logging.module.js';
import { routeTemplate } from '../logging/redact.js';
import * as names from './prometheus.js';

const ROUTE_GROUP = /^\/(images|byid|bytoken|byapikey|boot-artifacts|health|live|metrics|docs|openapi\.json)(?:\/|$)/;

/** Times, sizes, counts and logs each request when it ends (RequestEnd): a download ends long after its handler. */
@Injectable()
export class HttpObserver {
  constructor(
    @names.InjectMetric(names.HTTP_REQUEST_DURATION) private readonly duration: Histogram,
    @names.InjectMetric(names.HTTP_RESPONSE_SIZE) private readonly size: Histogram,
    @names.InjectMetric(names.HTTP_REQUESTS_INFLIGHT) private readonly inflight: Gauge,
    private readonly requestLog: RequestLog,
  ) {}

  readonly middleware = (request: Request, response: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const inflight = { method: request.method, group: ROUTE_GROUP.exec(request.path)?.[1] ?? 'other' };
    const body = countBodyBytes(response);
    this.inflight.inc(inflight);
    requestEnd(response).onEnd(() => {
      this.inflight.dec(inflight);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeTemplate(request);
      const labels = { method: request.method, handler: route, code: response.statusCode };
      this.duration.observe(labels, seconds);
      this.size.observe(labels, body.bytes);
      this.requestLog.write(request, response, route, body.bytes, seconds, response.writableFinished);
    });
    next();
  };
}

/** Counts the body bytes the response is given, whichever way: streamed with write(), or all at once with end(). */
function countBodyBytes(response: Response): { bytes: number } {
  const body = { bytes: 0 };
  for (const method of ['write', 'end'] as const) {
    const original = response[method] as (...args: unknown[]) => Response;
    Object.assign(response, {
      [method]: (chunk: unknown, ...rest: unknown[]): Response => {
        if (chunk instanceof Uint8Array) body.bytes += chunk.byteLength;
        // Node takes an encoding that is not one (a callback in its place) as utf8, and so does this.
        else if (typeof chunk === 'string') body.bytes += Buffer.byteLength(chunk, rest[0] as BufferEncoding);
        return original.call(response, chunk, ...rest);
      },
    });
  }
  return body;
}

@ApiTags('metrics')
@Controller('metrics')
class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOperation({ summary: 'Prometheus metrics: process, HTTP and image cache' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format' })
  index(): Promise<string> {
    return this.registry.metrics();
  }
}

const requestHistogram = (name: string, help: string, buckets: number[]) =>
  names.histogramProvider({ name, help, labelNames: ['method', 'handler', 'code'], buckets });

/** `/metrics`, the HTTP metrics, and the registry other modules put their metrics on. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    names.registryProvider,
    requestHistogram(
      names.HTTP_REQUEST_DURATION,
      'Time from request to the last byte of the response (or the client leaving)',
      [0.1, 1, 10, 50, 100, 300, 600],
    ),
    requestHistogram(names.HTTP_RESPONSE_SIZE, 'Response body bytes written', [100, 1e6, 5e8, 1e9, 1e10]),
    names.gaugeProvider({
      name: names.HTTP_REQUESTS_INFLIGHT,
      help: 'Requests being served, by method and first path segment',
      labelNames: ['method', 'group'],
    }),
    HttpObserver,
  ],
  exports: [HttpObserver, Registry],
})
export class MetricsModule {}
