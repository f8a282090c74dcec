import type { CatalogSource, OsImageEntry } from './catalog.js';
import type { LogLevel } from './environment.js';

export type { LogLevel };

/**
 * Typed configuration, one class per area so each is injected by its class. Built once from the validated
 * environment (config.module.ts); instances are frozen.
 */
export class ServerConfig {
  constructor(
    readonly listenPort: number,
    readonly httpListenPort: number | undefined,
    readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined,
    readonly allowedDomains: readonly string[],
    /** Image downloads served at once; 0 means no limit. */
    readonly maxConcurrentRequests: number,
    /** Downloads that may wait for a slot; one more is answered 503 at once. */
    readonly maxQueuedRequests: number,
    /** Longest a download waits for a slot before it is answered 503. */
    readonly maxQueueWaitSeconds: number,
    /** A download whose client takes no bytes for this long is cut. */
    readonly downloadStallSeconds: number,
    /** Public base URL of this service, used to build rootfs URLs for minimal ISOs. */
    readonly publicBaseUrl: string | undefined,
  ) {}
}

export class StorageConfig {
  constructor(
    readonly dataDir: string,
    /** Where the service makes its private scratch directory (created with mkdtemp, mode 0700). */
    readonly dataTempDir: string,
    /** Longest an external tool (xorriso, unsquashfs, erofs-utils) may run before it is killed. */
    readonly toolTimeoutSeconds: number,
  ) {}
}

export class CatalogConfig {
  constructor(
    readonly entries: readonly OsImageEntry[],
    readonly source: CatalogSource,
  ) {}
}

/** How base ISOs are fetched from their catalog URLs. */
export class ImageSourceConfig {
  constructor(
    /** PEM of an extra CA trusted in addition to the system CAs. */
    readonly trustedCaPem: string | undefined,
    readonly insecureSkipVerify: boolean,
    readonly requestHeaders: Readonly<Record<string, string>>,
    readonly requestQueryParams: Readonly<Record<string, string>>,
  ) {}
}

export class AssistedServiceConfig {
  constructor(
    /** Base URL without a trailing slash, e.g. `https://assisted:8090`; undefined when not configured. */
    readonly baseUrl: string | undefined,
    readonly trustedCaPem: string | undefined,
    readonly customizationCacheTtlSeconds: number,
  ) {}
}

export class LoggingConfig {
  constructor(
    readonly level: LogLevel,
    /** Configured values that may be credentials (request headers, query parameters): redacted wherever they appear. */
    readonly secretValues: readonly string[],
  ) {}
}

export interface AppConfig {
  readonly server: ServerConfig;
  readonly storage: StorageConfig;
  readonly catalog: CatalogConfig;
  readonly imageSource: ImageSourceConfig;
  readonly assistedService: AssistedServiceConfig;
  readonly logging: LoggingConfig;
}
