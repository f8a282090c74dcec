/** Tuning of the assisted-service client. Not part of the environment contract; tests shorten the timeout. */
export interface AssistedClientOptions {
  /** Longest a call may take, from connecting to the last body byte, before it fails with 504. */
  readonly timeoutMs: number;
  /** Largest response body accepted; Ignition configs and ramdisks are small, so anything bigger is refused. */
  readonly maxResponseBytes: number;
}

export const ASSISTED_CLIENT_OPTIONS = Symbol('ASSISTED_CLIENT_OPTIONS');

export const DEFAULT_ASSISTED_CLIENT_OPTIONS: AssistedClientOptions = {
  timeoutMs: 30_000,
  maxResponseBytes: 64 * 1024 * 1024,
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
