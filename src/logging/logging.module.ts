import { Global, Module, type DynamicModule } from '@nestjs/common';
import { LoggingConfig } from '../config/app-config.js';
import { JsonLogger, type LogWriter } from './json-logger.js';

@Global()
@Module({})
export class LoggingModule {
  /** `writer` defaults to standard output; tests pass their own to capture lines. */
  static forRoot(writer?: LogWriter): DynamicModule {
    const logger = {
      provide: JsonLogger,
      inject: [LoggingConfig],
      useFactory: (config: LoggingConfig) => new JsonLogger(config.level, writer, config.secretValues),
    };
    return { module: LoggingModule, providers: [logger], exports: [JsonLogger] };
  }
}
