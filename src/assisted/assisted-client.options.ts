/** Tuning of the assisted-service client. Not part of the environment contract; tests shorten the timeout. */
export interface AssistedClientOptions {
  /** Longest a call may take, from connecting to the last body byte, before it fails with 504. */
  readonly timeoutMs: number;
  /**
   * Bytes of assisted-service response bodies held at once, summed over every call in flight. Each body is bounded
   * by what can fit where it goes; this bounds them together. A body that finds no room fails its request with 503.
   */
  readonly maxBodyBytesInFlight: number;
}

export const ASSISTED_CLIENT_OPTIONS = Symbol('ASSISTED_CLIENT_OPTIONS');

export const DEFAULT_ASSISTED_CLIENT_OPTIONS: AssistedClientOptions = {
  timeoutMs: 30_000,
  maxBodyBytesInFlight: 128 * 1024 * 1024,
};

/** Bounds of the customisation cache. */
export interface CustomizationCacheOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  readonly now: () => number;
}

export const CUSTOMIZATION_CACHE_OPTIONS = Symbol('CUSTOMIZATION_CACHE_OPTIONS');

export const DEFAULT_CUSTOMIZATION_CACHE_OPTIONS: CustomizationCacheOptions = {
  maxEntries: 1000,
  maxBytes: 256 * 1024 * 1024,
  now: () => Date.now(),
};
