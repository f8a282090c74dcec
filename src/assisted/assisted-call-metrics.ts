import { counterProvider, histogramProvider } from '../metrics/prometheus.js';
import { ASSISTED_DURATION_BUCKETS, ASSISTED_REQUEST_DURATION, ASSISTED_REQUESTS } from '../metrics/metric-names.js';

/** Calls to assisted-service by kind (`ignition`, `minimal-initrd`, `infra-env`) and outcome, and their duration. */
export const assistedCallMetricProviders = [
  counterProvider({
    name: ASSISTED_REQUESTS,
    help: 'Calls to assisted-service by kind and outcome (HTTP status, error or aborted)',
    labelNames: ['call', 'code'],
  }),
  histogramProvider({
    name: ASSISTED_REQUEST_DURATION,
    help: 'Duration of calls to assisted-service',
    labelNames: ['call'],
    buckets: ASSISTED_DURATION_BUCKETS,
  }),
];
