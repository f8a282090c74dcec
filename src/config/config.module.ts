import { Global, Module, type DynamicModule } from '@nestjs/common';
import {
  AssistedServiceConfig,
  CatalogConfig,
  ImageSourceConfig,
  LoggingConfig,
  ServerConfig,
  StorageConfig,
  type AppConfig,
} from './app-config.js';

/** Provides each configuration area by its class. The config is loaded before Nest starts (see main.ts). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const providers = [
      { provide: ServerConfig, useValue: config.server },
      { provide: StorageConfig, useValue: config.storage },
      { provide: CatalogConfig, useValue: config.catalog },
      { provide: ImageSourceConfig, useValue: config.imageSource },
      { provide: AssistedServiceConfig, useValue: config.assistedService },
      { provide: LoggingConfig, useValue: config.logging },
    ];
    return { module: ConfigModule, providers, exports: providers.map((provider) => provider.provide) };
  }
}
