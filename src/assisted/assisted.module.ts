import { Module, type DynamicModule } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import {
  ASSISTED_REQUEST_DURATION,
  ASSISTED_REQUESTS,
  counterProvider,
  histogramProvider,
} from '../metrics/metrics.module.js';
import { AssistedClient, AssistedClientOptions } from './assisted.client.js';
import { CustomizationCacheOptions, CustomizationService } from './customization.service.js';
import { UpstreamBodyBudget } from './upstream-body.js';

const MiB = 1024 * 1024;

/** Tuning outside the environment contract: tests shorten timeouts and bounds. */
export interface AssistedModuleOptions {
  readonly client?: Partial<AssistedClientOptions>;
  readonly cache?: Partial<CustomizationCacheOptions>;
}

/** The assisted-service client and the customisation cache in front of it. */
@Module({})
export class AssistedModule {
  static forRoot(options: AssistedModuleOptions = {}): DynamicModule {
    const client: AssistedClientOptions = { timeoutMs: 30_000, maxBodyBytesInFlight: 128 * MiB, ...options.client };
    const cache: CustomizationCacheOptions = { maxEntries: 1000, maxBytes: 256 * MiB, ...options.cache };
    return {
      module: AssistedModule,
      global: true,
      providers: [
        AssistedClient,
        CustomizationService,
        Clock,
        { provide: AssistedClientOptions, useValue: client },
        { provide: CustomizationCacheOptions, useValue: cache },
        { provide: UpstreamBodyBudget, useValue: new UpstreamBodyBudget(client.maxBodyBytesInFlight) },
        counterProvider({
          name: ASSISTED_REQUESTS,
          help: 'Calls to assisted-service by kind and outcome (HTTP status, error or aborted)',
          labelNames: ['call', 'code'],
        }),
        histogramProvider({
          name: ASSISTED_REQUEST_DURATION,
          help: 'Duration of calls to assisted-service',
          labelNames: ['call'],
          buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
        }),
      ],
      exports: [CustomizationService],
    };
  }
}
