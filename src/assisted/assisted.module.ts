import { Module, type DynamicModule } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import {
  ASSISTED_DURATION_BUCKETS,
  ASSISTED_REQUEST_DURATION,
  ASSISTED_REQUESTS,
  counterProvider,
  histogramProvider,
} from '../metrics/prometheus.js';
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
          buckets: ASSISTED_DURATION_BUCKETS,
        }),
      ],
      exports: [CustomizationService],
    };
  }
}
