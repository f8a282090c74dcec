import { Inject, type Provider } from '@nestjs/common';
import * as prom from 'prom-client';

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
export const ASSISTED_DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];

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
type Config<C> = Omit<C, 'registers'>;

export const InjectMetric = (name: string): PropertyDecorator & ParameterDecorator => Inject(metricToken(name));

const metricProvider = (name: string, make: (registers: prom.Registry[]) => unknown): Provider => ({
  provide: metricToken(name),
  inject: [prom.Registry],
  useFactory: (registry: prom.Registry) => make([registry]),
});

export const counterProvider = <T extends string>(config: Config<prom.CounterConfiguration<T>>): Provider =>
  metricProvider(config.name, (registers) => new prom.Counter({ ...config, registers }));
export const gaugeProvider = <T extends string>(config: Config<prom.GaugeConfiguration<T>>): Provider =>
  metricProvider(config.name, (registers) => new prom.Gauge({ ...config, registers }));
export const histogramProvider = <T extends string>(config: Config<prom.HistogramConfiguration<T>>): Provider =>
  metricProvider(config.name, (registers) => new prom.Histogram({ ...config, registers }));
