import { mkdir } from 'node:fs/promises';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { CatalogConfig, ImageSourceConfig, StorageConfig } from '../config/app-config.js';
import { Semaphore } from '../common/semaphore.js';
import { BaseIsoStore } from './base-iso-store.js';
import { isoCacheNames } from './cache-file-names.js';
import { cleanDataDir } from './data-dir-cleaner.js';
import { ImageFetcher } from './image-fetcher.js';
import { IMAGE_PREPARATION_STEPS, type ImagePreparationStep, type VerifiedImage } from './image-preparation.js';
import { describeState, type FailedImageState, type ImageState } from './image-state.js';
import { OsImageCatalog, type CatalogImage } from './os-image-catalog.js';
import { ScratchSpace } from './scratch-space.js';
import { SYNC_OPTIONS, retryDelayMs, type SyncOptions } from './sync-options.js';

export type ImageStateListener = (image: CatalogImage, state: ImageState) => void;

/**
 * Keeps the base ISO of every catalog image in DATA_DIR (reference §4): after the listener is up it removes
 * the cache files nothing needs (see data-dir-cleaner.ts), sweeps scratch space, re-uses valid cached files,
 * downloads the rest with bounded parallelism, runs the preparation steps, and retries failures with backoff.
 * One failing image never holds up the others.
 */
@Injectable()
export class ImageCacheService implements OnApplicationShutdown {
  readonly catalog: OsImageCatalog;
  private readonly logger = new Logger(ImageCacheService.name);
  private readonly states = new Map<string, ImageState>();
  private readonly attempts = new Map<string, number>();
  private readonly settled = new Set<string>();
  private readonly failures = new Map<string, FailedImageState>();
  private readonly verified = new Map<string, VerifiedImage>();
  private readonly listeners = new Set<ImageStateListener>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly shutdown = new AbortController();
  private readonly slots: Semaphore;
  private readonly fetcher: ImageFetcher;
  private readonly store: BaseIsoStore;
  private syncStarted: Promise<void> | undefined;

  constructor(
    catalogConfig: CatalogConfig,
    private readonly storage: StorageConfig,
    source: ImageSourceConfig,
    @Inject(SYNC_OPTIONS) private readonly options: SyncOptions,
    @Inject(IMAGE_PREPARATION_STEPS) private readonly steps: readonly ImagePreparationStep[],
    private readonly scratch: ScratchSpace,
  ) {
    this.catalog = new OsImageCatalog(catalogConfig.entries);
    this.slots = new Semaphore(options.parallelism);
    this.fetcher = new ImageFetcher(source, { idleMs: options.idleTimeoutMs, maxRedirects: options.maxRedirects });
    this.store = new BaseIsoStore(storage.dataDir, this.fetcher, this.logger, options.progressLogIntervalMs);
    for (const image of this.catalog.images) this.states.set(image.key, { status: 'pending' });
  }

  /** Starts the sync once; resolves when every image has had its first attempt (ready or failed). */
  startSync(): Promise<void> {
    this.syncStarted ??= this.initialPass();
    return this.syncStarted;
  }

  /** Whether the image has finished its first attempt since start, ready or failed. */
  hasSettled(image: CatalogImage): boolean {
    return this.settled.has(image.key);
  }

  /** The image's last failure: kept while it is retried, until it is ready. */
  lastFailure(image: CatalogImage): FailedImageState | undefined {
    return this.failures.get(image.key);
  }

  snapshot(): { image: CatalogImage; state: ImageState }[] {
    return this.catalog.images.map((image) => ({ image, state: this.stateOf(image) }));
  }

  stateOf(image: CatalogImage): ImageState {
    return this.states.get(image.key) ?? { status: 'pending' };
  }

  /** The verified base ISO of a ready image; undefined until the image is ready. */
  readyImage(image: CatalogImage): VerifiedImage | undefined {
    return this.stateOf(image).status === 'ready' ? this.verified.get(image.key) : undefined;
  }

  onStateChange(listener: ImageStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onApplicationShutdown(): void {
    this.shutdown.abort();
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.fetcher.close();
  }

  private async initialPass(): Promise<void> {
    const { dataDir } = this.storage;
    try {
      await mkdir(dataDir, { recursive: true });
      const { removed, foreign } = await cleanDataDir(dataDir, this.expectedFiles());
      for (const name of removed)
        this.logger.log(
          `removed ${name} from ${dataDir}: a cache file no longer needed (another version, or left by an interrupted write)`,
        );
      if (foreign.length > 0) {
        this.logger.warn(
          `left ${foreign.length} entries in ${dataDir} that the cache did not write (they are never deleted; is DATA_DIR right?): ${foreign.join(', ')}`,
        );
      }
    } catch (error) {
      this.logger.error(`cannot prepare ${dataDir}: ${message(error)}`);
    }
    // A failure here fails only the steps that need scratch space, with the reason, when they run.
    await this.scratch
      .open()
      .catch((error: unknown) =>
        this.logger.error(`cannot prepare scratch space in ${this.storage.dataTempDir}: ${message(error)}`),
      );
    await Promise.all(this.catalog.images.map((image) => this.syncImage(image)));
  }

  private expectedFiles(): Set<string> {
    const names = this.catalog.images.flatMap((image) => [
      ...isoCacheNames(image.fileName),
      ...this.steps.flatMap((step) => step.expectedFiles?.(image) ?? []),
    ]);
    return new Set(names);
  }

  private async syncImage(image: CatalogImage): Promise<void> {
    const signal = this.shutdown.signal;
    try {
      await this.slots.run(async () => {
        this.setState(image, { status: 'verifying' });
        const verified = (await this.store.reuse(image, signal)) ?? (await this.download(image));
        for (const step of this.steps) {
          this.setState(image, { status: 'preparing', step: step.name });
          await step.prepare(verified, signal);
        }
        this.verified.set(image.key, verified);
        this.attempts.delete(image.key);
        this.failures.delete(image.key);
        this.settled.add(image.key);
        this.setState(image, { status: 'ready', sizeBytes: verified.sizeBytes, mtime: verified.mtime });
      }, signal);
    } catch (error) {
      if (signal.aborted) return;
      this.fail(image, failureReason(error));
    }
  }

  private download(image: CatalogImage): Promise<VerifiedImage> {
    this.setState(image, { status: 'downloading', bytesDone: 0, bytesTotal: undefined });
    return this.store.download(
      image,
      this.shutdown.signal,
      (bytesDone, bytesTotal) => this.setState(image, { status: 'downloading', bytesDone, bytesTotal }),
      () => this.setState(image, { status: 'verifying' }),
    );
  }

  private fail(image: CatalogImage, reason: string): void {
    const attempts = (this.attempts.get(image.key) ?? 0) + 1;
    this.attempts.set(image.key, attempts);
    const delay = retryDelayMs(this.options, attempts);
    const retryAt = new Date(Date.now() + delay);
    const failed: FailedImageState = { status: 'failed', reason, attempts, retryAt };
    this.failures.set(image.key, failed);
    this.settled.add(image.key);
    this.setState(image, failed);
    this.logger.error(
      `${image.fileName} failed (attempt ${attempts}): ${reason}; retrying in ${Math.round(delay / 1000)} s`,
    );
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      void this.syncImage(image);
    }, delay);
    this.retryTimers.add(timer);
  }

  private setState(image: CatalogImage, state: ImageState): void {
    const previous = this.states.get(image.key);
    this.states.set(image.key, state);
    if (previous?.status !== state.status)
      this.logger.debug(`${image.fileName}: ${JSON.stringify(describeState(state))}`);
    for (const listener of this.listeners) listener(image, state);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The reason shown for a failed image; a full disk says so first, whichever step ran out of space. */
export function failureReason(error: unknown): string {
  const text = message(error);
  const causes: unknown[] = [];
  for (let cause: unknown = error; cause instanceof Error && causes.length < 5; cause = cause.cause) causes.push(cause);
  // xorriso checks the free space before writing and words it its own way.
  const noSpace = causes.some(
    (cause) =>
      (cause as NodeJS.ErrnoException).code === 'ENOSPC' ||
      /ENOSPC|no space left|exceeds free space/i.test(message(cause)),
  );
  return noSpace && !/^no space/i.test(text) ? `no space left on device: ${text}` : text;
}
