import { Module, type DynamicModule } from '@nestjs/common';
import { CacheMetrics, cacheMetricProviders } from './cache-metrics.js';
import { ImageCacheService } from './image-cache.service.js';
import { ImageLayouts } from './image-layouts.js';
import { IMAGE_PREPARATION_STEPS } from './image-preparation.js';
import { DEFAULT_SYNC_OPTIONS, SYNC_OPTIONS, type SyncOptions } from './sync-options.js';

/** The OS image catalog, the cache sync and its metrics. */
@Module({})
export class VersionsModule {
  static forRoot(syncOptions: Partial<SyncOptions> = {}): DynamicModule {
    return {
      module: VersionsModule,
      // The cache is the service's shared state: health, metrics and the image routes all read it.
      global: true,
      providers: [
        ImageCacheService,
        CacheMetrics,
        ...cacheMetricProviders,
        { provide: SYNC_OPTIONS, useValue: { ...DEFAULT_SYNC_OPTIONS, ...syncOptions } },
        ImageLayouts,
        { provide: IMAGE_PREPARATION_STEPS, inject: [ImageLayouts], useFactory: (layouts: ImageLayouts) => [layouts] },
      ],
      exports: [ImageCacheService, ImageLayouts],
    };
  }
}
