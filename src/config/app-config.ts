import type { CatalogSource, OsImageEntry } from './catalog.js';
import type { LogLevel } from './environment.js';

/** The typed configuration: one class per area, injected by its class. README.md ("Configuration") says what each is. */
export class ServerConfig {
  constructor(
    readonly listenPort: number,
    readonly httpListenPort: number | undefined,
    readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined,
    readonly allowedDomains: readonly string[],
    /** 0: no limit. */
    readonly maxConcurrentRequests: number,
    readonly maxQueuedRequests: number,
    readonly maxQueueWaitSeconds: number,
    readonly downloadStallSeconds: number,
    /** Without a trailing slash, as `AssistedServiceConfig.baseUrl`. */
    readonly publicBaseUrl: string | undefined,
  ) {}
}

export class StorageConfig {
  constructor(
    readonly dataDir: string,
    /** Where the service makes its private scratch directory. */
    readonly dataTempDir: string,
    readonly toolTimeoutSeconds: number,
  ) {}
}

export class CatalogConfig {
  constructor(
    readonly entries: readonly OsImageEntry[],
    readonly source: CatalogSource,
  ) {}
}

export class ImageSourceConfig {
  constructor(
    /** PEM, trusted in addition to the system CAs. */
    readonly trustedCaPem: string | undefined,
    readonly insecureSkipVerify: boolean,
    readonly requestHeaders: Readonly<Record<string, string>>,
    readonly requestQueryParams: Readonly<Record<string, string>>,
  ) {}
}

export class AssistedServiceConfig {
  constructor(
    /** Without a trailing slash, e.g. `https://assisted:8090`. */
    readonly baseUrl: string | undefined,
    readonly trustedCaPem: string | undefined,
    readonly customizationCacheTtlSeconds: number,
  ) {}
}

export class LoggingConfig {
  constructor(
    readonly level: LogLevel,
    /** The configured request header and query values, which may be credentials: redacted wherever they appear. */
    readonly secretValues: readonly string[],
  ) {}
}
