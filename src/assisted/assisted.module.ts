import { Module, type DynamicModule } from '@nestjs/common';
import {
  ASSISTED_CLIENT_OPTIONS,
  CUSTOMIZATION_CACHE_OPTIONS,
  DEFAULT_ASSISTED_CLIENT_OPTIONS,
  DEFAULT_CUSTOMIZATION_CACHE_OPTIONS,
  type AssistedClientOptions,
  type CustomizationCacheOptions,
} from './assisted-client.options.js';
import { assistedCallMetricProviders } from './assisted-call-metrics.js';
import { AssistedClient } from './assisted.client.js';
import { CustomizationService } from './customization.service.js';
import { UpstreamBodyBudget } from './upstream-budget.js';

export interface AssistedModuleOptions {
  readonly client?: Partial<AssistedClientOptions>;
  readonly cache?: Partial<CustomizationCacheOptions>;
}

/**
 * The assisted-service client (reference §8) and the customisation cache in front of it. `AssistedServiceConfig`
 * comes from the global ConfigModule; the options are tuning outside the environment contract (tests shorten
 * timeouts and move the clock).
 */
@Module({})
export class AssistedModule {
  static forRoot(options: AssistedModuleOptions = {}): DynamicModule {
    const clientOptions: AssistedClientOptions = { ...DEFAULT_ASSISTED_CLIENT_OPTIONS, ...options.client };
    return {
      module: AssistedModule,
      global: true,
      providers: [
        AssistedClient,
        CustomizationService,
        ...assistedCallMetricProviders,
        { provide: ASSISTED_CLIENT_OPTIONS, useValue: clientOptions },
        { provide: UpstreamBodyBudget, useValue: new UpstreamBodyBudget(clientOptions.maxBodyBytesInFlight) },
        {
          provide: CUSTOMIZATION_CACHE_OPTIONS,
          useValue: { ...DEFAULT_CUSTOMIZATION_CACHE_OPTIONS, ...options.cache },
        },
      ],
      exports: [AssistedClient, CustomizationService, UpstreamBodyBudget],
    };
  }
}
