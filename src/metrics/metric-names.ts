/** Prefix of every metric the service defines (reference §7.8). */
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

export const ASSISTED_REQUESTS = `${METRIC_PREFIX}assisted_requests_total`;
export const ASSISTED_REQUEST_DURATION = `${METRIC_PREFIX}assisted_request_duration_seconds`;
export const ASSISTED_DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];

export const HTTP_DURATION_BUCKETS = [0.1, 1, 10, 50, 100, 300, 600];
export const HTTP_SIZE_BUCKETS = [100, 1e6, 5e8, 1e9, 1e10];
