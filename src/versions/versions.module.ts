import { Module, type DynamicModule } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { CatalogConfig } from '../config/app-config.js';
import { CacheMetrics, cacheMetricProviders } from './cache-metrics.js';
import { ImageCacheService } from './image-cache.service.js';
import { ImageFetcher } from './image-fetcher.js';
import { SyncOptions } from './image-state.js';
import { IsoStore } from './iso-store.js';
import { OsImageCatalog } from './os-image-catalog.js';
import { IMAGE_PREPARATION_STEPS, PREPARATION_STEPS, type ImagePreparationStep } from './preparation-steps.js';
import { ToolRunner } from './tool-runner.js';

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
