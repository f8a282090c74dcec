/** Tuning of the cache sync. Not part of the environment contract; tests shorten the timings. */
export interface SyncOptions {
  /** Images fetched at once. */
  readonly parallelism: number;
  /** First retry delay after a failure; doubles per attempt up to `retryMaxMs`. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Longest silence from an image source before its download is abandoned. */
  readonly idleTimeoutMs: number;
  readonly maxRedirects: number;
  /** Minimum interval between progress log lines of one download. */
  readonly progressLogIntervalMs: number;
}

export const SYNC_OPTIONS = Symbol('SYNC_OPTIONS');

export const DEFAULT_SYNC_OPTIONS: SyncOptions = {
  parallelism: 3,
  retryBaseMs: 10_000,
  retryMaxMs: 10 * 60_000,
  idleTimeoutMs: 60_000,
  maxRedirects: 5,
  progressLogIntervalMs: 10_000,
};

/** Delay before retry number `attempt` (1-based): exponential, capped, with ±20 % jitter so replicas spread out. */
export function retryDelayMs(options: SyncOptions, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}
