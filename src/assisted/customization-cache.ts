import { AssistedRequestAbortedError } from './assisted.errors.js';

export interface CustomizationCacheSettings<V> {
  /** How long a loaded value is reused; 0 disables caching and coalescing (every get loads). */
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** Bound on the bytes of every entry together, values, remembered failures and derived values alike. */
  readonly maxBytes: number;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Approximate memory held by a value, for the byte bound. */
  readonly sizeOf: (value: V) => number;
  /**
   * Failures that would come out the same for the whole TTL (content that cannot fit the image): they are
   * remembered like values, so they cost no further loads. Other failures are not cached.
   */
  readonly remembers: (error: unknown) => boolean;
}

export type Loader<V> = (signal: AbortSignal) => Promise<V>;

type Outcome<V> = { readonly value: V } | { readonly failure: Error };

interface Entry<V> {
  readonly outcome: Outcome<V>;
  /** The outcome's bytes plus those of the values derived from it; grows as they are added. */
  bytes: number;
  readonly expiresAt: number;
  /** Values computed from the cached value (e.g. a patched file per ISO layout), by slot. */
  readonly derived: Map<object, unknown>;
}

/** One upstream load shared by every request that missed the same key while it ran. */
interface SharedLoad<V> {
  readonly promise: Promise<V>;
  readonly controller: AbortController;
  /** Waiters that can still leave; the load is abandoned when the last one does. */
  waiters: number;
}

/** Bookkeeping of a remembered failure on top of its message. */
const FAILURE_OVERHEAD_BYTES = 512;

/**
 * A TTL cache with LRU eviction bounded by entry count and bytes, that coalesces concurrent misses: requests for a
 * key that is being loaded wait for that load instead of starting their own. A waiter whose signal fires stops
 * waiting without disturbing the others; the load itself is aborted only when every waiter has left. Failed loads
 * are not cached, so the next request retries, except failures `remembers` picks. Values derived from a cached
 * value live and are counted in its entry, so the byte bound covers everything a customisation holds.
 */
export class CustomizationCache<V extends object> {
  /** Map order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loads = new Map<string, SharedLoad<V>>();
  /** The key each cached value was stored under, to find its entry from the value. */
  private readonly keys = new WeakMap<V, string>();
  private totalBytes = 0;

  constructor(private readonly settings: CustomizationCacheSettings<V>) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get(key: string, load: Loader<V>, signal?: AbortSignal): Promise<V> {
    if (signal?.aborted) return Promise.reject(new AssistedRequestAbortedError(signal.reason));
    if (this.settings.ttlMs <= 0) return load(signal ?? new AbortController().signal);
    const hit = this.fresh(key);
    if (hit !== undefined)
      return 'value' in hit.outcome ? Promise.resolve(hit.outcome.value) : Promise.reject(hit.outcome.failure);
    const shared = this.loads.get(key) ?? this.startLoad(key, load);
    return this.waitFor(key, shared, signal);
  }

  /**
   * `build()`, computed once per `slot` for as long as `value` stays cached and charged to its entry (evicting
   * least recently used entries when the bytes pass the bound). For a value that is not cached (any more), `build`
   * runs every time: nothing is held that the bound does not see.
   */
  derive<T>(value: V, slot: object, build: () => T, sizeOf: (derived: T) => number): T {
    const key = this.keys.get(value);
    const entry = key === undefined ? undefined : this.entries.get(key);
    if (entry === undefined || !('value' in entry.outcome) || entry.outcome.value !== value) return build();
    // Only this method writes into `derived`, always with what `build` of the same slot returned.
    if (entry.derived.has(slot)) return entry.derived.get(slot) as T;
    const derived = build();
    const bytes = sizeOf(derived);
    entry.derived.set(slot, derived);
    entry.bytes += bytes;
    this.totalBytes += bytes;
    this.evict();
    return derived;
  }

  private fresh(key: string): Entry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.remove(key);
    if (this.settings.now() >= entry.expiresAt) return undefined;
    this.insert(key, entry);
    return entry;
  }

  private startLoad(key: string, load: Loader<V>): SharedLoad<V> {
    const controller = new AbortController();
    // Started on a later tick, so `shared` exists before any callback below can run.
    const promise = Promise.resolve()
      .then(() => load(controller.signal))
      .then(
        (value) => {
          if (!controller.signal.aborted) this.store(key, { value }, this.settings.sizeOf(value));
          return value;
        },
        (error: unknown) => {
          if (!controller.signal.aborted && error instanceof Error && this.settings.remembers(error)) {
            this.store(key, { failure: error }, FAILURE_OVERHEAD_BYTES + 2 * error.message.length);
          }
          throw error;
        },
      )
      .finally(() => {
        if (this.loads.get(key) === shared) this.loads.delete(key);
      });
    // When every waiter has left, nobody observes the outcome: that is not an unhandled rejection.
    promise.catch(() => undefined);
    const shared: SharedLoad<V> = { promise, controller, waiters: 0 };
    this.loads.set(key, shared);
    return shared;
  }

  private waitFor(key: string, shared: SharedLoad<V>, signal: AbortSignal | undefined): Promise<V> {
    shared.waiters += 1;
    if (signal === undefined) return shared.promise;
    return new Promise<V>((resolve, reject) => {
      const leave = (): void => {
        shared.waiters -= 1;
        if (shared.waiters === 0) this.abandon(key, shared);
        reject(new AssistedRequestAbortedError(signal.reason));
      };
      signal.addEventListener('abort', leave, { once: true });
      shared.promise.then(
        (value) => {
          signal.removeEventListener('abort', leave);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', leave);
          reject(error);
        },
      );
    });
  }

  /** Nobody waits any more: stop the load, and let the next request for the key start afresh rather than join it. */
  private abandon(key: string, shared: SharedLoad<V>): void {
    if (this.loads.get(key) === shared) this.loads.delete(key);
    shared.controller.abort();
  }

  private store(key: string, outcome: Outcome<V>, bytes: number): void {
    this.remove(key);
    if (bytes > this.settings.maxBytes) return;
    if ('value' in outcome) this.keys.set(outcome.value, key);
    this.insert(key, { outcome, bytes, expiresAt: this.settings.now() + this.settings.ttlMs, derived: new Map() });
    this.evict();
  }

  private evict(): void {
    if (this.withinBounds()) return;
    const now = this.settings.now();
    for (const [key, entry] of this.entries) if (now >= entry.expiresAt) this.remove(key);
    for (const key of this.entries.keys()) {
      if (this.withinBounds()) return;
      this.remove(key);
    }
  }

  private withinBounds(): boolean {
    return this.entries.size <= this.settings.maxEntries && this.totalBytes <= this.settings.maxBytes;
  }

  private insert(key: string, entry: Entry<V>): void {
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}
