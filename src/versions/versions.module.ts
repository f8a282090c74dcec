import { Injectable, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import type { Counter, Gauge } from 'prom-client';
import { Clock } from '../common/clock.js';
import { CatalogConfig } from '../config/app-config.js';
import * as metrics from '../metrics/metrics.module.js';
import { ImageCacheService } from './image-cache.service.js';
import { ImageFetcher } from './image-fetcher.js';
import { IMAGE_STATUSES, SyncOptions, type ImageState } from './image-state.js';
import { IsoStore } from './iso-store.js';
import { OsImageCatalog, type CatalogImage } from './os-image-catalog.js';
import { IMAGE_PREPARATION_STEPS, PREPARATION_STEPS, type ImagePreparationStep } from './preparation-steps.js';
import { ToolRunner } from './tool-runner.js';

const gauge = (name: string, help: string, ...labelNames: string[]) =>
  metrics.gaugeProvider({ name, help, labelNames });

const cacheMetricProviders = [
  gauge(metrics.CACHE_IMAGES, 'Catalog images by cache state', 'state'),
  gauge(metrics.CACHE_IMAGE_STATE, '1 for the current cache state of each image', 'image', 'state'),
  gauge(
    metrics.CACHE_IMAGE_FAILURE,
    '1 for each image whose last attempt failed, labelled with the reason; kept while it is retried, removed once it is ready',
    'image',
    'reason',
  ),
  gauge(metrics.CACHE_DOWNLOADED_BYTES, 'Bytes of each image downloaded so far (its size once ready)', 'image'),
  gauge(metrics.CACHE_EXPECTED_BYTES, 'Size of each image announced by its source, when known', 'image'),
  metrics.counterProvider({
    name: metrics.CACHE_SYNC_FAILURES,
    help: 'Failed attempts to fetch or prepare an image',
    labelNames: ['image'],
  }),
];

/** Longest failure reason kept as a label value: enough to act on, bounded for the time-series database. */
const MAX_REASON_LABEL_LENGTH = 200;

/** A failure reason as a label value: one line, bounded. Reasons hold no credentials: URLs are described without. */
export function failureLabel(reason: string): string {
  const line = reason.replace(/\s+/g, ' ').trim();
  return line.length <= MAX_REASON_LABEL_LENGTH ? line : `${line.slice(0, MAX_REASON_LABEL_LENGTH - 1)}…`;
}

/** Mirrors the cache state into the metrics whenever an image changes state or makes progress. */
@Injectable()
class CacheMetrics implements OnModuleInit {
  private readonly lastStatus = new Map<string, ImageState['status']>();

  constructor(
    private readonly cache: ImageCacheService,
    @metrics.InjectMetric(metrics.CACHE_IMAGES) private readonly images: Gauge<'state'>,
    @metrics.InjectMetric(metrics.CACHE_IMAGE_STATE) private readonly imageState: Gauge<'image' | 'state'>,
    @metrics.InjectMetric(metrics.CACHE_IMAGE_FAILURE) private readonly imageFailure: Gauge<'image' | 'reason'>,
    @metrics.InjectMetric(metrics.CACHE_DOWNLOADED_BYTES) private readonly downloaded: Gauge<'image'>,
    @metrics.InjectMetric(metrics.CACHE_EXPECTED_BYTES) private readonly expected: Gauge<'image'>,
    @metrics.InjectMetric(metrics.CACHE_SYNC_FAILURES) private readonly failures: Counter<'image'>,
  ) {}

  onModuleInit(): void {
    for (const { image, state } of this.cache.snapshot()) this.record(image, state);
    this.cache.onStateChange((image, state) => this.record(image, state));
  }

  private record(image: CatalogImage, state: ImageState): void {
    const label = { image: image.key };
    if (this.lastStatus.get(image.key) !== state.status) {
      this.lastStatus.set(image.key, state.status);
      if (state.status === 'failed') this.failures.inc(label);
      this.recordStates();
    }
    if (state.status === 'downloading') {
      this.downloaded.set(label, state.bytesDone);
      if (state.bytesTotal !== undefined) this.expected.set(label, state.bytesTotal);
    } else if (state.status === 'ready') {
      this.downloaded.set(label, state.sizeBytes);
      this.expected.set(label, state.sizeBytes);
    }
  }

  /** Rebuilt from the whole cache, so a failure's series goes when the image is ready or fails for another reason. */
  private recordStates(): void {
    const snapshot = this.cache.snapshot();
    this.imageFailure.reset();
    for (const status of IMAGE_STATUSES)
      this.images.set({ state: status }, snapshot.filter(({ state }) => state.status === status).length);
    for (const { image, state } of snapshot) {
      for (const status of IMAGE_STATUSES)
        this.imageState.set({ image: image.key, state: status }, +(status === state.status));
      const failure = this.cache.lastFailure(image);
      if (failure) this.imageFailure.set({ image: image.key, reason: failureLabel(failure.reason) }, 1);
    }
  }
}

const SERVICES = [Clock, ImageFetcher, IsoStore, ToolRunner, ImageCacheService, CacheMetrics];

/** The OS image catalog, the cache sync and its metrics. */
@Module({})
export class VersionsModule {
  static forRoot(syncOptions: Partial<SyncOptions> = {}): DynamicModule {
    return {
      module: VersionsModule,
      // The cache is the service's shared state: health, metrics and the image routes all read it.
      global: true,
      providers: [
        { provide: SyncOptions, useValue: Object.assign(new SyncOptions(), syncOptions) },
        {
          provide: OsImageCatalog,
          inject: [CatalogConfig],
          useFactory: (config: CatalogConfig) => new OsImageCatalog(config.entries),
        },
        {
          provide: IMAGE_PREPARATION_STEPS,
          inject: PREPARATION_STEPS,
          useFactory: (...steps: ImagePreparationStep[]) => steps,
        },
        ...SERVICES,
        ...PREPARATION_STEPS,
        ...cacheMetricProviders,
      ],
      exports: [ImageCacheService, ...PREPARATION_STEPS],
    };
  }
}
