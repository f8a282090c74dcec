import { Module, type DynamicModule } from '@nestjs/common';
import { CacheMetrics, cacheMetricProviders } from './cache-metrics.js';
import { ImageCacheService } from './image-cache.service.js';
import { ImageLayouts } from './image-layouts.js';
import { IMAGE_PREPARATION_STEPS, type ImagePreparationStep } from './image-preparation.js';
import { MinimalTemplates } from './minimal-templates.js';
import { NmstateImages } from './nmstate-images.js';
import { ScratchSpace } from './scratch-space.js';
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
        ScratchSpace,
        ImageLayouts,
        NmstateImages,
        MinimalTemplates,
        {
          provide: IMAGE_PREPARATION_STEPS,
          inject: [ImageLayouts, NmstateImages, MinimalTemplates],
          // In this order: the template embeds nmstate.img.
          useFactory: (...steps: ImagePreparationStep[]) => steps,
        },
      ],
      exports: [ImageCacheService, ImageLayouts, NmstateImages, MinimalTemplates],
    };
  }
}
