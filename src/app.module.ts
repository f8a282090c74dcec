import type { ServerOptions } from 'node:http';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AssistedModule, type AssistedModuleOptions } from './assisted/assisted.module.js';
import type { LoadedConfig } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { ImagesModule } from './images/images.controller.js';
import { LoggingModule, type LogWriter } from './logging/json-logger.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { AllExceptionsFilter } from './server/all-exceptions.filter.js';
import type { SyncOptions } from './versions/image-state.js';
import { VersionsModule } from './versions/versions.module.js';

/** Knobs that are not part of the environment contract: tests shorten timings and capture logs with them. */
export interface AppOptions {
  readonly syncOptions?: Partial<SyncOptions>;
  readonly assisted?: AssistedModuleOptions;
  readonly logWriter?: LogWriter;
  readonly serverTimeouts?: ServerOptions;
  /** How often the HTTPS certificate and key files are checked for a new pair; 10 s unless given. */
  readonly tlsReloadIntervalMs?: number;
}

@Module({})
export class AppModule {
  static forRoot(config: LoadedConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        config.module,
        LoggingModule.forRoot(options.logWriter),
        MetricsModule,
        VersionsModule.forRoot(options.syncOptions),
        HealthModule,
        AssistedModule.forRoot(options.assisted),
        ImagesModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
