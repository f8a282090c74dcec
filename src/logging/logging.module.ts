import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ImageSourceConfig, LoggingConfig } from '../config/app-config.js';
import { JsonLogger, type LogWriter } from './json-logger.js';
import { RequestLog } from './request-log.js';

/** Values operators configure for image downloads may be credentials: the logger redacts them wherever they appear. */
function secretLiterals(source: ImageSourceConfig): string[] {
  return [...Object.values(source.requestHeaders), ...Object.values(source.requestQueryParams)];
}

@Global()
@Module({})
export class LoggingModule {
  /** `writer` defaults to standard output; tests pass their own to capture lines. */
  static forRoot(writer?: LogWriter): DynamicModule {
    return {
      module: LoggingModule,
      providers: [
        {
          provide: JsonLogger,
          inject: [LoggingConfig, ImageSourceConfig],
          useFactory: (logging: LoggingConfig, source: ImageSourceConfig) =>
            new JsonLogger(logging.level, writer, secretLiterals(source)),
        },
        RequestLog,
      ],
      exports: [JsonLogger, RequestLog],
    };
  }
}
