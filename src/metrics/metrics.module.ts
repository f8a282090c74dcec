import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Global, Header, Inject, Injectable, Module, type Provider } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import * as prom from 'prom-client';
import { requestEnd } from '../common/request-end.js';
import { JsonLogger } from '../logging/json-logger.js';
import { describeRequest } from '../logging/redact.js';

export const METRIC_PREFIX = 'assisted_image_service_';
export const HTTP_REQUEST_DURATION = `${METRIC_PREFIX}http_request_duration_seconds`;
export const HTTP_RESPONSE_SIZE = `${METRIC_PREFIX}http_response_size_bytes`;
export const HTTP_REQUESTS_INFLIGHT = `${METRIC_PREFIX}http_requests_inflight`;
export const CACHE_IMAGES = `${METRIC_PREFIX}cache_images`;
export const CACHE_IMAGE_STATE = `${METRIC_PREFIX}cache_image_state`;
export const CACHE_IMAGE_FAILURE = `${METRIC_PREFIX}cache_image_failure`;
export const CACHE_DOWNLOADED_BYTES = `${METRIC_PREFIX}cache_downloaded_bytes`;
export const CACHE_EXPECTED_BYTES = `${METRIC_PREFIX}cache_expected_bytes`;
export const CACHE_SYNC_FAILURES = `${METRIC_PREFIX}cache_sync_failures_total`;
export const FAST_LANE_ANSWERS = `${METRIC_PREFIX}fast_lane_answers_total`;
export const ASSISTED_REQUESTS = `${METRIC_PREFIX}assisted_requests_total`;
export const ASSISTED_REQUEST_DURATION = `${METRIC_PREFIX}assisted_request_duration_seconds`;

/** One registry per application, not prom-client's global one, so two apps in one process (tests) never collide. */
export const registryProvider: Provider = {
  provide: prom.Registry,
  useFactory: (): prom.Registry => {
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    return registry;
  },
};

const metricToken = (name: string): string => `prometheus-metric:${name}`;

export const InjectMetric = (name: string): PropertyDecorator & ParameterDecorator => Inject(metricToken(name));

/** Makes providers of one kind of metric, registered on the application's registry and injected by InjectMetric. */
const metricProvider =
  <C extends { name: string }>(Metric: new (config: C & { registers: prom.Registry[] }) => unknown) =>
  (config: C): Provider => ({
    provide: metricToken(config.name),
    inject: [prom.Registry],
    useFactory: (registry: prom.Registry) => new Metric({ ...config, registers: [registry] }),
  });
export const counterProvider = metricProvider(prom.Counter);
export const gaugeProvider = metricProvider(prom.Gauge);
export const histogramProvider = metricProvider(prom.Histogram);

const ROUTE_GROUP = /^\/(images|byid|bytoken|byapikey|boot-artifacts|health|live|metrics|docs|openapi\.json)(?:\/|$)/;
/** The `group` label of the in-flight gauge: the first path segment of a known route, else `other`. */
export function routeGroup(path: string): string {
  return ROUTE_GROUP.exec(path)?.[1] ?? 'other';
}

/** A request as its metrics and log line name it, never with a credential (see describeRequest). */
export type RequestDescription = Pick<ReturnType<typeof describeRequest>, 'route' | 'path' | 'query'>;

/** Probes come every few seconds: their lines are debug so they do not drown the downloads. */
const PROBE_ROUTES = new Set(['/health', '/live', '/metrics']);

/** Times, sizes, counts and logs each request when it ends (RequestEnd): a download ends long after its handler. */
@Injectable()
export class HttpObserver {
  constructor(
    @InjectMetric(HTTP_REQUEST_DURATION) private readonly duration: prom.Histogram,
    @InjectMetric(HTTP_RESPONSE_SIZE) private readonly size: prom.Histogram,
    @InjectMetric(HTTP_REQUESTS_INFLIGHT) private readonly inflight: prom.Gauge,
    private readonly logger: JsonLogger,
  ) {}

  readonly middleware = (request: Request, response: Response, next: NextFunction): void => {
    // Described when the request ends: only then has the router matched it.
    this.track(request, response, routeGroup(request.path), () => describeRequest(request));
    next();
  };

  /** Counts the request in flight until it ends, then observes it and logs its line, as `describe` puts it. */
  track(request: IncomingMessage, response: ServerResponse, group: string, describe: () => RequestDescription): void {
    const started = process.hrtime.bigint();
    const inflight = { method: request.method, group };
    const body = countBodyBytes(response);
    this.inflight.inc(inflight);
    requestEnd(response).onEnd(() => {
      this.inflight.dec(inflight);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const { route, path, query } = describe();
      const { method } = request;
      const { statusCode: status } = response;
      const labels = { method, handler: route, code: status };
      this.duration.observe(labels, seconds);
      this.size.observe(labels, body.bytes);
      const level = PROBE_ROUTES.has(route) ? 'debug' : status >= 500 ? 'warn' : 'info';
      const durationMs = Math.round(seconds * 1000);
      const aborted = !response.writableFinished;
      // What Express calls `request.ip` without a trusted proxy: the peer's address.
      const remote = request.socket.remoteAddress ?? null;
      const userAgent = request.headers['user-agent'] ?? null;
      const fields = { method, route, path, query, status, bytes: body.bytes, durationMs, aborted, remote, userAgent };
      this.logger.record(level, 'HttpRequest', `${method} ${route} ${status}`, fields);
    });
  }
}

/** Counts the body bytes the response is given, whichever way: streamed with write(), or all at once with end(). */
function countBodyBytes(response: ServerResponse): { bytes: number } {
  const body = { bytes: 0 };
  for (const method of ['write', 'end'] as const) {
    const original = response[method] as (...args: unknown[]) => ServerResponse;
    Object.assign(response, {
      [method]: (chunk: unknown, ...rest: unknown[]): ServerResponse => {
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
  constructor(private readonly registry: prom.Registry) {}

  @Get()
  @Header('Content-Type', prom.Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOperation({ summary: 'Prometheus metrics: process, HTTP and image cache' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format' })
  index(): Promise<string> {
    return this.registry.metrics();
  }
}

const requestHistogram = (name: string, help: string, buckets: number[]) =>
  histogramProvider({ name, help, labelNames: ['method', 'handler', 'code'], buckets });

/** `/metrics`, the HTTP metrics, and the registry other modules put their metrics on. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    registryProvider,
    requestHistogram(
      HTTP_REQUEST_DURATION,
      'Time from request to the last byte of the response (or the client leaving)',
      [0.1, 1, 10, 50, 100, 300, 600],
    ),
    requestHistogram(HTTP_RESPONSE_SIZE, 'Response body bytes written', [100, 1e6, 5e8, 1e9, 1e10]),
    gaugeProvider({
      name: HTTP_REQUESTS_INFLIGHT,
      help: 'Requests being served, by method and first path segment',
      labelNames: ['method', 'group'],
    }),
    HttpObserver,
  ],
  exports: [HttpObserver, prom.Registry],
})
export class MetricsModule {}
