import { Global, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { HttpObserver } from './http-observer.js';
import { MetricsController } from './metrics.controller.js';
import {
  HTTP_DURATION_BUCKETS,
  HTTP_REQUEST_DURATION,
  HTTP_REQUESTS_INFLIGHT,
  HTTP_RESPONSE_SIZE,
  HTTP_SIZE_BUCKETS,
} from './metric-names.js';
import { gaugeProvider, histogramProvider, registryProvider } from './prometheus.js';

const requestLabels = ['method', 'handler', 'code'];

/** `/metrics` with process metrics and the HTTP metrics of reference §7.8. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    registryProvider,
    histogramProvider({
      name: HTTP_REQUEST_DURATION,
      help: 'Time from request to the last byte of the response (or the client leaving)',
      labelNames: requestLabels,
      buckets: HTTP_DURATION_BUCKETS,
    }),
    histogramProvider({
      name: HTTP_RESPONSE_SIZE,
      help: 'Response body bytes written',
      labelNames: requestLabels,
      buckets: HTTP_SIZE_BUCKETS,
    }),
    gaugeProvider({
      name: HTTP_REQUESTS_INFLIGHT,
      help: 'Requests being served, by method and first path segment',
      labelNames: ['method', 'group'],
    }),
    HttpObserver,
  ],
  // The registry is exported so other modules can register their own metrics on it.
  exports: [HttpObserver, Registry],
})
export class MetricsModule {}
