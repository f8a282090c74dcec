import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { isLowercaseUuid } from '../common/service-error.js';
import { AssistedServiceConfig } from '../config/app-config.js';
import type { ImageType } from '../config/catalog.js';
import { IgnitionTooLargeError, RamdiskAreaError } from '../iso/index.js';
import { AssistedClient } from './assisted.client.js';
import { AssistedRequestAbortedError, DoesNotFitError, InvalidInfraEnvIdError } from './assisted.errors.js';
import { credentialFingerprint, type Credential } from './credentials.js';

/** What assisted-service says goes into one image. Buffers are shared between requests: read them, never write. */
export interface Customization {
  /** The Ignition as it goes into the image (see docs/live-iso.md, "The Ignition payload"). */
  readonly ignitionPayload: Buffer;
  readonly lastModified?: Date;
  readonly ramdisk?: Buffer;
  readonly kernelArguments: string[];
}

/** What an image can take, which bounds what is fetched for it. */
export interface CustomizationNeeds {
  readonly ignitionAreaBytes: number;
  /** For images that take a static network ramdisk (minimal ISO, PXE). */
  readonly ramdiskAreaBytes?: number;
  /** ISOs append the infra-env's kernel arguments; the PXE initrd has nowhere to put them. */
  readonly kernelArguments: boolean;
}

/** The PXE initrd's Ignition call sends no `discovery_iso_type`. */
export type CustomizedImageType = ImageType | 'pxe-initrd';

/** A class only to serve as injection token. */
export abstract class CustomizationCacheOptions {
  abstract readonly maxEntries: number;
  abstract readonly maxBytes: number;
}

/** Bookkeeping of an entry (key, dates, arrays) on top of its buffers or message, so tiny entries still count. */
const ENTRY_OVERHEAD_BYTES = 512;

export function customizationBytes(customization: Customization): number {
  const kargs = customization.kernelArguments.reduce((sum, argument) => sum + 2 * argument.length + 32, 0);
  return ENTRY_OVERHEAD_BYTES + customization.ignitionPayload.length + (customization.ramdisk?.length ?? 0) + kargs;
}

type Loader = (signal: AbortSignal) => Promise<Customization>;
/** Plain functions rather than closures, so a cache hit allocates none. */
type Build<S, T> = (customization: Customization, slot: S) => T;
type SizeOf<T> = (derived: T, customization: Customization) => number;

interface Entry {
  readonly outcome: Customization | DoesNotFitError;
  /** Including the values derived from the outcome. */
  bytes: number;
  readonly expiresAt: number;
  readonly derived: Map<object, unknown>;
}

/** One load shared by every request that missed the same key while it ran. */
type SharedLoad = { readonly promise: Promise<Customization>; readonly controller: AbortController; waiters: number };

/**
 * An image's customisation through the cache of docs/assisted-service.md, "Reuse": TTL, LRU, concurrent misses
 * coalesced. A waiter whose signal fires leaves alone; the load is aborted only once every waiter has left.
 */
@Injectable()
export class CustomizationService {
  /** Map order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly loads = new Map<string, SharedLoad>();
  /** The key each cached value was stored under, to find its entry from the value. */
  private readonly keys = new WeakMap<Customization, string>();
  private readonly ttlMs: number;
  private totalBytes = 0;

  constructor(
    @Inject(AssistedClient) private readonly client: AssistedClient,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AssistedServiceConfig) config: AssistedServiceConfig,
    @Inject(CustomizationCacheOptions) private readonly options: CustomizationCacheOptions,
  ) {
    this.ttlMs = config.customizationCacheTtlSeconds * 1000;
  }

  get usage(): { readonly entries: number; readonly bytes: number; readonly maxBytes: number } {
    return { entries: this.entries.size, bytes: this.totalBytes, maxBytes: this.options.maxBytes };
  }

  /** Rejects with DoesNotFitError when the infra-env's content cannot fit what `needs` describes. */
  get(
    infraEnvId: string,
    imageType: CustomizedImageType,
    credential: Credential,
    needs: CustomizationNeeds,
    signal?: AbortSignal,
  ): Promise<Customization> {
    if (!isLowercaseUuid(infraEnvId)) return Promise.reject(new InvalidInfraEnvIdError());
    if (signal?.aborted) return Promise.reject(new AssistedRequestAbortedError(signal.reason));
    const load: Loader = (shared) => this.fetch(infraEnvId, imageType, credential, needs, shared);
    if (this.ttlMs <= 0) return load(signal ?? new AbortController().signal);
    const { ignitionAreaBytes, ramdiskAreaBytes, kernelArguments } = needs;
    const fingerprint = credentialFingerprint(credential);
    const key = `${infraEnvId}|${imageType}|${fingerprint}|${ignitionAreaBytes}|${ramdiskAreaBytes}|${kernelArguments}`;
    const hit = this.entries.get(key);
    this.remove(key);
    if (hit !== undefined && this.clock.now() < hit.expiresAt) {
      this.insert(key, hit);
      return hit.outcome instanceof DoesNotFitError ? Promise.reject(hit.outcome) : Promise.resolve(hit.outcome);
    }
    return this.waitFor(key, this.loads.get(key) ?? this.startLoad(key, load), signal);
  }

  /** Whether `value` is still what `get` returns for its key: not expired, evicted or replaced. */
  isCurrent(value: Customization): boolean {
    const entry = this.entryOf(value);
    return entry !== undefined && this.clock.now() < entry.expiresAt;
  }

  /**
   * `build` once per `slot` while `value` stays cached, its size charged to the entry; for a value no longer cached,
   * every time: nothing is held that the byte bound does not see.
   */
  derive<S extends object, T>(value: Customization, slot: S, build: Build<S, T>, sizeOf: SizeOf<T>): T {
    const entry = this.entryOf(value);
    if (entry === undefined) return build(value, slot);
    // Only this method writes into `derived`, always with what `build` of the same slot returned.
    if (entry.derived.has(slot)) return entry.derived.get(slot) as T;
    const derived = build(value, slot);
    const bytes = sizeOf(derived, value);
    entry.derived.set(slot, derived);
    entry.bytes += bytes;
    this.totalBytes += bytes;
    this.evict();
    return derived;
  }

  private async fetch(
    infraEnvId: string,
    imageType: CustomizedImageType,
    credential: Credential,
    needs: CustomizationNeeds,
    signal: AbortSignal,
  ): Promise<Customization> {
    const siblings = new AbortController();
    const combined = AbortSignal.any([signal, siblings.signal]);
    const isoType = imageType === 'pxe-initrd' ? undefined : imageType;
    try {
      const [ignition, ramdisk, kernelArguments] = await Promise.all([
        this.client.fetchIgnition(infraEnvId, credential, isoType, needs.ignitionAreaBytes, combined),
        needs.ramdiskAreaBytes !== undefined &&
          this.client.fetchMinimalInitrd(infraEnvId, credential, needs.ramdiskAreaBytes, combined),
        needs.kernelArguments ? this.client.fetchKernelArguments(infraEnvId, credential, combined) : [],
      ]);
      const { payload: ignitionPayload, lastModified } = ignition;
      return { ignitionPayload, ...(lastModified && { lastModified }), ...(ramdisk && { ramdisk }), kernelArguments };
    } catch (error) {
      // The others are abandoned rather than left running for nobody.
      siblings.abort();
      if (error instanceof IgnitionTooLargeError || error instanceof RamdiskAreaError)
        throw new DoesNotFitError(error.message);
      throw error;
    }
  }

  private entryOf(value: Customization): Entry | undefined {
    const key = this.keys.get(value);
    const entry = key === undefined ? undefined : this.entries.get(key);
    return entry?.outcome === value ? entry : undefined;
  }

  private startLoad(key: string, load: Loader): SharedLoad {
    const controller = new AbortController();
    const shared: SharedLoad = { promise: this.load(key, load, controller.signal), controller, waiters: 0 };
    // When every waiter has left, nobody observes the outcome: that is not an unhandled rejection.
    shared.promise.catch(() => undefined);
    this.loads.set(key, shared);
    return shared;
  }

  /** Only DoesNotFitError is kept of the failures: it would come out the same for the whole TTL. */
  private async load(key: string, load: Loader, signal: AbortSignal): Promise<Customization> {
    try {
      const value = await load(signal);
      if (!signal.aborted) this.store(key, value, customizationBytes(value));
      return value;
    } catch (error) {
      if (!signal.aborted && error instanceof DoesNotFitError)
        this.store(key, error, ENTRY_OVERHEAD_BYTES + 2 * error.message.length);
      throw error;
    } finally {
      // Runs after `startLoad` has registered the load: an async function settles on a later tick.
      if (this.loads.get(key)?.controller.signal === signal) this.loads.delete(key);
    }
  }

  private waitFor(key: string, shared: SharedLoad, signal: AbortSignal | undefined): Promise<Customization> {
    shared.waiters += 1;
    if (signal === undefined) return shared.promise;
    return new Promise<Customization>((resolve, reject) => {
      const leave = (): void => {
        shared.waiters -= 1;
        // Nobody waits any more: stop the load, and let the next request start afresh rather than join it.
        if (shared.waiters === 0) {
          if (this.loads.get(key) === shared) this.loads.delete(key);
          shared.controller.abort();
        }
        reject(new AssistedRequestAbortedError(signal.reason));
      };
      signal.addEventListener('abort', leave, { once: true });
      void shared.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', leave));
    });
  }

  private store(key: string, outcome: Entry['outcome'], bytes: number): void {
    this.remove(key);
    if (bytes > this.options.maxBytes) return;
    if (!(outcome instanceof DoesNotFitError)) this.keys.set(outcome, key);
    this.insert(key, { outcome, bytes, expiresAt: this.clock.now() + this.ttlMs, derived: new Map() });
    this.evict();
  }

  private evict(): void {
    if (this.withinBounds()) return;
    const now = this.clock.now();
    for (const [key, entry] of this.entries) if (now >= entry.expiresAt) this.remove(key);
    for (const key of this.entries.keys()) {
      if (this.withinBounds()) return;
      this.remove(key);
    }
  }

  private withinBounds(): boolean {
    return this.entries.size <= this.options.maxEntries && this.totalBytes <= this.options.maxBytes;
  }

  private insert(key: string, entry: Entry): void {
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
