import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectMetric, counterProvider, gaugeProvider } from '../metrics/prometheus.js';
import type { Counter, Gauge } from 'prom-client';
import {
  CACHE_DOWNLOADED_BYTES,
  CACHE_EXPECTED_BYTES,
  CACHE_IMAGE_FAILURE,
  CACHE_IMAGE_STATE,
  CACHE_IMAGES,
  CACHE_SYNC_FAILURES,
} from '../metrics/metric-names.js';
import { ImageCacheService } from './image-cache.service.js';
import { IMAGE_STATUSES, type ImageState } from './image-state.js';
import type { CatalogImage } from './os-image-catalog.js';

/** Longest failure reason kept as a label value: enough to act on, bounded for the time-series database. */
const MAX_REASON_LABEL_LENGTH = 200;

export const cacheMetricProviders = [
  gaugeProvider({ name: CACHE_IMAGES, help: 'Catalog images by cache state', labelNames: ['state'] }),
  gaugeProvider({
    name: CACHE_IMAGE_STATE,
    help: '1 for the current cache state of each image',
    labelNames: ['image', 'state'],
  }),
  gaugeProvider({
    name: CACHE_IMAGE_FAILURE,
    help: '1 for each image whose last attempt failed, labelled with the reason; kept while it is retried, removed once it is ready',
    labelNames: ['image', 'reason'],
  }),
  gaugeProvider({
    name: CACHE_DOWNLOADED_BYTES,
    help: 'Bytes of each image downloaded so far (its size once ready)',
    labelNames: ['image'],
  }),
  gaugeProvider({
    name: CACHE_EXPECTED_BYTES,
    help: 'Size of each image announced by its source, when known',
    labelNames: ['image'],
  }),
  counterProvider({
    name: CACHE_SYNC_FAILURES,
    help: 'Failed attempts to fetch or prepare an image',
    labelNames: ['image'],
  }),
];

/** A failure reason as a label value: one line, bounded. Reasons never hold credentials (URLs are described without them). */
export function failureLabel(reason: string): string {
  const line = reason.replace(/\s+/g, ' ').trim();
  return line.length <= MAX_REASON_LABEL_LENGTH ? line : `${line.slice(0, MAX_REASON_LABEL_LENGTH - 1)}…`;
}

/** Mirrors the cache state into gauges whenever an image changes state or makes progress. */
@Injectable()
export class CacheMetrics implements OnModuleInit {
  private readonly lastStatus = new Map<string, ImageState['status']>();
  /** The reason label each failing image is exported with, so a new reason replaces the old series. */
  private readonly failureLabels = new Map<string, string>();

  constructor(
    private readonly cache: ImageCacheService,
    @InjectMetric(CACHE_IMAGES) private readonly images: Gauge<'state'>,
    @InjectMetric(CACHE_IMAGE_STATE) private readonly imageState: Gauge<'image' | 'state'>,
    @InjectMetric(CACHE_IMAGE_FAILURE) private readonly imageFailure: Gauge<'image' | 'reason'>,
    @InjectMetric(CACHE_DOWNLOADED_BYTES) private readonly downloaded: Gauge<'image'>,
    @InjectMetric(CACHE_EXPECTED_BYTES) private readonly expected: Gauge<'image'>,
    @InjectMetric(CACHE_SYNC_FAILURES) private readonly failures: Counter<'image'>,
  ) {}

  onModuleInit(): void {
    for (const { image, state } of this.cache.snapshot()) this.record(image, state);
    this.cache.onStateChange((image, state) => this.record(image, state));
  }

  private record(image: CatalogImage, state: ImageState): void {
    const label = image.key;
    const statusChanged = this.lastStatus.get(label) !== state.status;
    this.lastStatus.set(label, state.status);
    if (statusChanged) {
      for (const status of IMAGE_STATUSES)
        this.imageState.set({ image: label, state: status }, status === state.status ? 1 : 0);
      this.countByState();
      this.recordFailure(image);
    }
    if (state.status === 'downloading') {
      this.downloaded.set({ image: label }, state.bytesDone);
      if (state.bytesTotal !== undefined) this.expected.set({ image: label }, state.bytesTotal);
    } else if (state.status === 'ready') {
      this.downloaded.set({ image: label }, state.sizeBytes);
      this.expected.set({ image: label }, state.sizeBytes);
    } else if (state.status === 'failed' && statusChanged) {
      this.failures.inc({ image: label });
    }
  }

  private recordFailure(image: CatalogImage): void {
    const failure = this.cache.lastFailure(image);
    const reason = failure && failureLabel(failure.reason);
    const previous = this.failureLabels.get(image.key);
    if (reason === previous) return;
    if (previous !== undefined) this.imageFailure.remove({ image: image.key, reason: previous });
    if (reason === undefined) {
      this.failureLabels.delete(image.key);
    } else {
      this.imageFailure.set({ image: image.key, reason }, 1);
      this.failureLabels.set(image.key, reason);
    }
  }

  private countByState(): void {
    const counts = new Map(IMAGE_STATUSES.map((status) => [status, 0]));
    for (const { state } of this.cache.snapshot()) counts.set(state.status, (counts.get(state.status) ?? 0) + 1);
    for (const [status, count] of counts) this.images.set({ state: status }, count);
  }
}
