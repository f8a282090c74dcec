import { AssistedRequestAbortedError } from './assisted.errors.js';

export interface CustomizationCacheSettings<V> {
  /** How long a loaded value is reused; 0 disables caching and coalescing (every get loads). */
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Approximate memory held by a value, for the byte bound. */
  readonly sizeOf: (value: V) => number;
}

export type Loader<V> = (signal: AbortSignal) => Promise<V>;

interface Entry<V> {
  readonly value: V;
  readonly bytes: number;
  readonly expiresAt: number;
}

/** One upstream load shared by every request that missed the same key while it ran. */
interface SharedLoad<V> {
  readonly promise: Promise<V>;
  readonly controller: AbortController;
  /** Waiters that can still leave; the load is abandoned when the last one does. */
  waiters: number;
}

/**
 * A TTL cache with LRU eviction bounded by entry count and bytes, that coalesces concurrent misses: requests for a
 * key that is being loaded wait for that load instead of starting their own. A waiter whose signal fires stops
 * waiting without disturbing the others; the load itself is aborted only when every waiter has left. Failed loads
 * are not cached, so the next request retries.
 */
export class CustomizationCache<V> {
  /** Map order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loads = new Map<string, SharedLoad<V>>();
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
    if (hit !== undefined) return Promise.resolve(hit.value);
    const shared = this.loads.get(key) ?? this.startLoad(key, load);
    return this.waitFor(key, shared, signal);
  }

  private fresh(key: string): Entry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.remove(key);
    if (this.settings.now() >= entry.expiresAt) return undefined;
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
    return entry;
  }

  private startLoad(key: string, load: Loader<V>): SharedLoad<V> {
    const controller = new AbortController();
    // Started on a later tick, so `shared` exists before any callback below can run.
    const promise = Promise.resolve()
      .then(() => load(controller.signal))
      .then((value) => {
        if (!controller.signal.aborted) this.store(key, value);
        return value;
      })
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

  private store(key: string, value: V): void {
    const bytes = this.settings.sizeOf(value);
    this.remove(key);
    if (bytes > this.settings.maxBytes) return;
    this.entries.set(key, { value, bytes, expiresAt: this.settings.now() + this.settings.ttlMs });
    this.totalBytes += bytes;
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

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}
