import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { PrometheusModule, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { HttpObserver } from './http-observer.js';
import { MetricsController } from './metrics.controller.js';
import {
  HTTP_DURATION_BUCKETS,
  HTTP_REQUEST_DURATION,
  HTTP_REQUESTS_INFLIGHT,
  HTTP_RESPONSE_SIZE,
  HTTP_SIZE_BUCKETS,
} from './metric-names.js';

const requestLabels = ['method', 'handler', 'code'];

/** `/metrics` with process metrics and the HTTP metrics of reference §7.8. */
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', controller: MetricsController, defaultMetrics: { enabled: true } })],
  providers: [
    makeHistogramProvider({ name: HTTP_REQUEST_DURATION, help: 'Time from request to the last byte of the response (or the client leaving)', labelNames: requestLabels, buckets: HTTP_DURATION_BUCKETS }),
    makeHistogramProvider({ name: HTTP_RESPONSE_SIZE, help: 'Response body bytes written', labelNames: requestLabels, buckets: HTTP_SIZE_BUCKETS }),
    makeGaugeProvider({ name: HTTP_REQUESTS_INFLIGHT, help: 'Requests being served, by method and first path segment', labelNames: ['method', 'group'] }),
    HttpObserver,
  ],
  exports: [HttpObserver],
})
export class MetricsModule implements OnApplicationShutdown {
  /** prom-client keeps one registry per process: zero it so a second app in the same process (tests) starts clean. */
  onApplicationShutdown(): void {
    register.resetMetrics();
  }
}
