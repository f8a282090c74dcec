import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { Semaphore } from '../common/semaphore.js';
import { isoCacheNames } from './cache-files.js';
import { SyncOptions, describeState, type FailedImageState, type ImageState } from './image-state.js';
import { IsoStore } from './iso-store.js';
import { OsImageCatalog, type CatalogImage } from './os-image-catalog.js';
import { IMAGE_PREPARATION_STEPS, type ImagePreparationStep, type VerifiedImage } from './preparation-steps.js';
import { ToolRunner } from './tool-runner.js';

/** `verified` is set once the image is ready, which it then stays; `lastFailure` counts the failed attempts. */
interface ImageRecord {
  state: ImageState;
  lastFailure: FailedImageState | undefined;
  verified: VerifiedImage | undefined;
}

/** Keeps every catalog image's base ISO in DATA_DIR, ready to serve: see "The cache" in README.md. */
@Injectable()
export class ImageCacheService implements OnApplicationShutdown {
  private readonly logger = new Logger(ImageCacheService.name);
  private readonly records = new Map<string, ImageRecord>();
  private readonly listeners = new Set<(image: CatalogImage, state: ImageState) => void>();
  private readonly pendingRetries = new Set<() => void>();
  private readonly shutdown = new AbortController();
  private readonly slots: Semaphore;
  private syncStarted: Promise<void> | undefined;

  constructor(
    readonly catalog: OsImageCatalog,
    private readonly store: IsoStore,
    private readonly tools: ToolRunner,
    private readonly clock: Clock,
    private readonly options: SyncOptions,
    @Inject(IMAGE_PREPARATION_STEPS) private readonly steps: readonly ImagePreparationStep[],
  ) {
    this.slots = new Semaphore(options.parallelism);
    for (const image of catalog.images) this.records.set(image.key, newRecord());
  }

  /** Starts the sync once; resolves when every image has had its first attempt. */
  startSync(): Promise<void> {
    return (this.syncStarted ??= this.initialPass());
  }

  /** Whether the image has finished its first attempt since start, ready or failed. */
  hasSettled(image: CatalogImage): boolean {
    const { lastFailure, verified } = this.recordOf(image);
    return lastFailure !== undefined || verified !== undefined;
  }

  /** The image's last failure: kept while it is retried, until it is ready. */
  lastFailure(image: CatalogImage): FailedImageState | undefined {
    return this.recordOf(image).lastFailure;
  }

  snapshot(): { image: CatalogImage; state: ImageState }[] {
    return this.catalog.images.map((image) => ({ image, state: this.stateOf(image) }));
  }

  stateOf(image: CatalogImage): ImageState {
    return this.recordOf(image).state;
  }

  readyImage(image: CatalogImage): VerifiedImage | undefined {
    return this.recordOf(image).verified;
  }

  /** Returns the function that unsubscribes. */
  onStateChange(listener: (image: CatalogImage, state: ImageState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onApplicationShutdown(): void {
    this.shutdown.abort();
    for (const cancel of this.pendingRetries) cancel();
    this.pendingRetries.clear();
  }

  private async initialPass(): Promise<void> {
    const keep = this.catalog.images.flatMap((image) => [
      ...Object.values(isoCacheNames(image.fileName)),
      ...this.steps.flatMap((step) => step.expectedFiles?.(image) ?? []),
    ]);
    await this.store.clean(new Set(keep));
    await this.tools.openScratchSpace();
    await Promise.all(this.catalog.images.map((image) => this.syncImage(image)));
  }

  private async syncImage(image: CatalogImage): Promise<void> {
    const { signal } = this.shutdown;
    try {
      await this.slots.run(async () => {
        const verified = await this.store.obtain(image, signal, (state) => this.setState(image, state));
        for (const step of this.steps) {
          this.setState(image, { status: 'preparing', step: step.name });
          await step.prepare(verified, signal);
        }
        Object.assign(this.recordOf(image), { verified, lastFailure: undefined });
        this.setState(image, { status: 'ready', sizeBytes: verified.sizeBytes, mtime: verified.mtime });
      }, signal);
    } catch (error) {
      if (!signal.aborted) this.fail(image, failureReason(error));
    }
  }

  private fail(image: CatalogImage, reason: string): void {
    const record = this.recordOf(image);
    const attempts = (record.lastFailure?.attempts ?? 0) + 1;
    const delay = retryDelayMs(this.options, attempts);
    record.lastFailure = { status: 'failed', reason, attempts, retryAt: new Date(this.clock.now() + delay) };
    this.setState(image, record.lastFailure);
    const seconds = Math.round(delay / 1000);
    this.logger.error(`${image.fileName} failed (attempt ${attempts}): ${reason}; retrying in ${seconds} s`);
    const cancel = this.clock.schedule(() => {
      this.pendingRetries.delete(cancel);
      void this.syncImage(image);
    }, delay);
    this.pendingRetries.add(cancel);
  }

  private setState(image: CatalogImage, state: ImageState): void {
    const record = this.recordOf(image);
    if (record.state.status !== state.status)
      this.logger.debug(`${image.fileName}: ${JSON.stringify(describeState(state))}`);
    record.state = state;
    for (const listener of this.listeners) listener(image, state);
  }

  private recordOf(image: CatalogImage): ImageRecord {
    return this.records.get(image.key) ?? newRecord();
  }
}

function newRecord(): ImageRecord {
  return { state: { status: 'pending' }, lastFailure: undefined, verified: undefined };
}

/** Delay before retry number `attempt` (1-based): doubling, capped, with ±20 % jitter so replicas spread out. */
function retryDelayMs({ retryBaseMs, retryMaxMs }: SyncOptions, attempt: number): number {
  const exponential = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exponential * (0.8 + 0.4 * Math.random()));
}

/** The reason shown for a failed image; a full disk says so first, whichever step ran out of space. */
function failureReason(error: unknown): string {
  const causes: Error[] = [];
  for (let cause = error; cause instanceof Error && causes.length < 5; cause = cause.cause) causes.push(cause);
  // xorriso checks the free space before writing and words it its own way.
  const noSpace = causes.some(
    ({ code, message }: NodeJS.ErrnoException) =>
      code === 'ENOSPC' || /ENOSPC|no space left|exceeds free space/i.test(message),
  );
  const text = error instanceof Error ? error.message : String(error);
  return noSpace && !/^no space/i.test(text) ? `no space left on device: ${text}` : text;
}
