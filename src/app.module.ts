import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { AssistedModule, type AssistedModuleOptions } from './assisted/assisted.module.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { ImagesModule } from './images/images.module.js';
import type { LogWriter } from './logging/json-logger.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import type { ServerTimeouts } from './server/http-servers.js';
import type { SyncOptions } from './versions/sync-options.js';
import { VersionsModule } from './versions/versions.module.js';

/** Knobs that are not part of the environment contract: tests shorten timings and capture logs with them. */
export interface AppOptions {
  readonly syncOptions?: Partial<SyncOptions>;
  readonly assisted?: AssistedModuleOptions;
  readonly logWriter?: LogWriter;
  /** How long in-flight responses may run on after SIGTERM before their connections are closed. */
  readonly shutdownGraceMs?: number;
  /** The listeners' timeouts (server/http-servers.ts has the values and why); tests shorten them. */
  readonly serverTimeouts?: Partial<ServerTimeouts>;
  /** How often the HTTPS certificate and key files are checked for a new pair; 10 s unless given. */
  readonly tlsReloadIntervalMs?: number;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
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
