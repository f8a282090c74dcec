import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import {
  CACHE_DOWNLOADED_BYTES,
  CACHE_EXPECTED_BYTES,
  CACHE_IMAGE_STATE,
  CACHE_IMAGES,
  CACHE_SYNC_FAILURES,
} from '../metrics/metric-names.js';
import { ImageCacheService } from './image-cache.service.js';
import { IMAGE_STATUSES, type ImageState } from './image-state.js';
import type { CatalogImage } from './os-image-catalog.js';

export const cacheMetricProviders = [
  makeGaugeProvider({ name: CACHE_IMAGES, help: 'Catalog images by cache state', labelNames: ['state'] }),
  makeGaugeProvider({ name: CACHE_IMAGE_STATE, help: '1 for the current cache state of each image', labelNames: ['image', 'state'] }),
  makeGaugeProvider({ name: CACHE_DOWNLOADED_BYTES, help: 'Bytes of each image downloaded so far (its size once ready)', labelNames: ['image'] }),
  makeGaugeProvider({ name: CACHE_EXPECTED_BYTES, help: 'Size of each image announced by its source, when known', labelNames: ['image'] }),
  makeCounterProvider({ name: CACHE_SYNC_FAILURES, help: 'Failed attempts to fetch or prepare an image', labelNames: ['image'] }),
];

/** Mirrors the cache state into gauges whenever an image changes state or makes progress. */
@Injectable()
export class CacheMetrics implements OnModuleInit {
  constructor(
    private readonly cache: ImageCacheService,
    @InjectMetric(CACHE_IMAGES) private readonly images: Gauge<'state'>,
    @InjectMetric(CACHE_IMAGE_STATE) private readonly imageState: Gauge<'image' | 'state'>,
    @InjectMetric(CACHE_DOWNLOADED_BYTES) private readonly downloaded: Gauge<'image'>,
    @InjectMetric(CACHE_EXPECTED_BYTES) private readonly expected: Gauge<'image'>,
    @InjectMetric(CACHE_SYNC_FAILURES) private readonly failures: Counter<'image'>,
  ) {}

  onModuleInit(): void {
    for (const { image, state } of this.cache.snapshot()) this.record(image, state);
    this.cache.onStateChange((image, state) => this.record(image, state));
  }

  private readonly lastStatus = new Map<string, ImageState['status']>();

  private record(image: CatalogImage, state: ImageState): void {
    const label = image.key;
    const statusChanged = this.lastStatus.get(label) !== state.status;
    this.lastStatus.set(label, state.status);
    if (statusChanged) {
      for (const status of IMAGE_STATUSES) this.imageState.set({ image: label, state: status }, status === state.status ? 1 : 0);
      this.countByState();
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

  private countByState(): void {
    const counts = new Map(IMAGE_STATUSES.map((status) => [status, 0]));
    for (const { state } of this.cache.snapshot()) counts.set(state.status, (counts.get(state.status) ?? 0) + 1);
    for (const [status, count] of counts) this.images.set({ state: status }, count);
  }
}
