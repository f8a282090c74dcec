import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Clock } from '../common/clock.js';
import type { OsImageEntry } from '../config/catalog.js';
import type { IsoIndex } from '../iso/index.js';
import { ImageCacheService } from './image-cache.service.js';
import { SyncOptions, type ImageState } from './image-state.js';
import { IsoStore } from './iso-store.js';
import { OsImageCatalog, type CatalogImage } from './os-image-catalog.js';
import { IMAGE_PREPARATION_STEPS, type ImagePreparationStep, type VerifiedImage } from './preparation-steps.js';
import { ToolRunner } from './tool-runner.js';

const START = Date.parse('2026-01-01T00:00:00Z');
const X86 = 'rhcos-full-iso-418.1-x86_64.iso';
const ARM = 'rhcos-full-iso-418.1-arm64.iso';

/** Time moves only when a test says so; scheduled callbacks run when it passes them. */
class FakeClock {
  time = START;
  private timers: { at: number; callback: () => void }[] = [];

  now(): number {
    return this.time;
  }

  schedule(callback: () => void, delayMs: number): () => void {
    const timer = { at: this.time + delayMs, callback };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((other) => other !== timer));
  }

  advanceTo(time: number): void {
    this.time = time;
    const due = this.timers.filter((timer) => timer.at <= time);
    this.timers = this.timers.filter((timer) => timer.at > time);
    for (const timer of due) timer.callback();
  }

  get scheduled(): number {
    return this.timers.length;
  }
}

/** One download the store was asked for, finished by the test. */
interface Attempt {
  readonly image: CatalogImage;
  readonly signal: AbortSignal;
  report(state: ImageState): void;
  succeed(): void;
  fail(error: Error): void;
}

const INDEX: IsoIndex = {
  volumeId: 'rhcos-418.1',
  blockSize: 2048,
  volumeSpaceSize: 1,
  hasJolietTree: false,
  get: () => undefined,
  require: (path) => {
    throw new Error(`${path} is missing`);
  },
  files: () => [],
};

function verified(image: CatalogImage): VerifiedImage {
  return { image, path: `/data/${image.fileName}`, sizeBytes: 1000, mtime: new Date(START), index: INDEX };
}

/** DATA_DIR without a disk: which files are cached, and every download the service starts. */
class FakeIsoStore {
  readonly cached = new Set<string>();
  readonly attempts: Attempt[] = [];
  kept: ReadonlySet<string> | undefined;

  async clean(keep: ReadonlySet<string>): Promise<void> {
    this.kept = keep;
  }

  obtain(image: CatalogImage, signal: AbortSignal, onState: (state: ImageState) => void): Promise<VerifiedImage> {
    onState({ status: 'verifying' });
    if (this.cached.has(image.fileName)) return Promise.resolve(verified(image));
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason));
      const succeed = () => resolve(verified(image));
      this.attempts.push({ image, signal, report: onState, succeed, fail: reject });
    });
  }

  /** The latest attempt for `fileName`, once the service has started it. */
  async attempt(fileName: string, number: number): Promise<Attempt> {
    await until(() => this.attempts.filter((attempt) => attempt.image.fileName === fileName).length >= number);
    return this.attempts.filter((attempt) => attempt.image.fileName === fileName)[number - 1] as Attempt;
  }
}

/** A preparation step that records what it prepared and fails images it is told to. */
class FakeStep implements ImagePreparationStep {
  readonly name = 'testing the step';
  readonly prepared: string[] = [];
  readonly failing = new Map<string, Error>();

  async prepare({ image }: VerifiedImage): Promise<void> {
    const error = this.failing.get(image.fileName);
    if (error) throw error;
    this.prepared.push(image.fileName);
  }

  expectedFiles(image: CatalogImage): readonly string[] {
    return [`${image.key}.extra`];
  }
}

/** Lets the service's promise chains run until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !check(); turn++) await new Promise((resolve) => setImmediate(resolve));
  if (!check()) throw new Error('the condition never held');
}

function entry(cpuArchitecture: OsImageEntry['cpuArchitecture']): OsImageEntry {
  return {
    openshiftVersion: '4.18',
    version: '418.1',
    cpuArchitecture,
    type: 'full-iso',
    url: `https://mirror.example.com/${cpuArchitecture}.iso`,
  };
}

let closeModule: (() => Promise<void>) | undefined;

async function setUp(entries: OsImageEntry[]) {
  const clock = new FakeClock();
  const store = new FakeIsoStore();
  const step = new FakeStep();
  const scratch = { opened: 0, openScratchSpace: async () => void scratch.opened++ };
  const module = await Test.createTestingModule({
    providers: [
      ImageCacheService,
      { provide: OsImageCatalog, useValue: new OsImageCatalog(entries) },
      { provide: IsoStore, useValue: store },
      { provide: ToolRunner, useValue: scratch },
      { provide: Clock, useValue: clock },
      { provide: SyncOptions, useValue: Object.assign(new SyncOptions(), { parallelism: 2, retryBaseMs: 10_000 }) },
      { provide: IMAGE_PREPARATION_STEPS, useValue: [step] },
    ],
  }).compile();
  module.useLogger(false);
  closeModule = () => module.close();
  const cache = module.get(ImageCacheService);
  const image = (fileName: string): CatalogImage =>
    cache.catalog.images.find((candidate) => candidate.fileName === fileName) as CatalogImage;
  const status = (fileName: string): ImageState['status'] => cache.stateOf(image(fileName)).status;
  return { cache, clock, store, step, scratch, image, status };
}

afterEach(async () => {
  await closeModule?.();
  closeModule = undefined;
});

describe('ImageCacheService', () => {
  it('downloads an image that is not cached, reporting progress, then prepares it and serves it', async () => {
    const { cache, store, step, scratch, image, status } = await setUp([entry('x86_64')]);
    const x86 = image(X86);
    expect(cache.stateOf(x86)).toEqual({ status: 'pending' });
    const synced = cache.startSync();
    const attempt = await store.attempt(X86, 1);
    expect(store.kept).toEqual(
      new Set([X86, `${X86}.part`, `${X86}.part.json`, `${X86}.verified.json`, 'rhcos-full-iso-418.1-x86_64.extra']),
    );
    expect(scratch.opened).toBe(1);
    expect(status(X86)).toBe('verifying');
    attempt.report({ status: 'downloading', bytesDone: 420, bytesTotal: 1000 });
    expect(cache.stateOf(x86)).toEqual({ status: 'downloading', bytesDone: 420, bytesTotal: 1000 });
    expect(cache.hasSettled(x86)).toBe(false);
    expect(cache.readyImage(x86)).toBeUndefined();
    attempt.succeed();
    await synced;
    expect(cache.stateOf(x86)).toEqual({ status: 'ready', sizeBytes: 1000, mtime: new Date(START) });
    expect(cache.readyImage(x86)).toEqual(verified(x86));
    expect(cache.hasSettled(x86)).toBe(true);
    expect(cache.lastFailure(x86)).toBeUndefined();
    expect(step.prepared).toEqual([X86]);
  });

  it('serves a cached ISO without downloading it', async () => {
    const { cache, store, image } = await setUp([entry('x86_64')]);
    store.cached.add(X86);
    await cache.startSync();
    expect(cache.readyImage(image(X86))?.path).toBe(`/data/${X86}`);
    expect(store.attempts).toEqual([]);
  });

  it('tells every listener each change, in order, until it unsubscribes', async () => {
    const { cache, store, status } = await setUp([entry('x86_64'), entry('arm64')]);
    store.cached.add(X86);
    const seen: string[] = [];
    const unsubscribe = cache.onStateChange((image, state) => seen.push(`${image.fileName} ${state.status}`));
    void cache.startSync();
    const arm = await store.attempt(ARM, 1);
    arm.report({ status: 'downloading', bytesDone: 1, bytesTotal: 2 });
    await until(() => status(X86) === 'ready');
    unsubscribe();
    arm.succeed();
    await until(() => status(ARM) === 'ready');
    expect(seen.filter((line) => line.startsWith(X86))).toEqual([
      `${X86} verifying`,
      `${X86} preparing`,
      `${X86} ready`,
    ]);
    expect(seen.filter((line) => line.startsWith(ARM))).toEqual([`${ARM} verifying`, `${ARM} downloading`]);
    expect(cache.snapshot().map(({ image, state }) => [image.fileName, state.status])).toEqual([
      [X86, 'ready'],
      [ARM, 'ready'],
    ]);
  });

  it('marks a failed image with its reason and retries it with growing, jittered delays on the clock', async () => {
    const { cache, clock, store, image, status } = await setUp([entry('x86_64')]);
    const x86 = image(X86);
    const synced = cache.startSync();
    (await store.attempt(X86, 1)).fail(new Error('HTTP 503 from https://mirror.example.com/x86_64.iso'));
    await synced;
    const first = cache.stateOf(x86);
    expect(first).toMatchObject({
      status: 'failed',
      reason: 'HTTP 503 from https://mirror.example.com/x86_64.iso',
      attempts: 1,
    });
    expect(cache.hasSettled(x86)).toBe(true);
    expect(cache.lastFailure(x86)).toEqual(first);
    const firstRetryAt = first.status === 'failed' ? (first.retryAt?.getTime() ?? 0) : 0;
    expect(firstRetryAt - START).toBeGreaterThanOrEqual(8_000);
    expect(firstRetryAt - START).toBeLessThanOrEqual(12_000);

    clock.advanceTo(firstRetryAt - 1);
    expect(store.attempts).toHaveLength(1);
    clock.advanceTo(firstRetryAt);
    (await store.attempt(X86, 2)).report({ status: 'downloading', bytesDone: 1, bytesTotal: undefined });
    expect(status(X86)).toBe('downloading');
    expect(cache.lastFailure(x86)).toEqual(first);
    (await store.attempt(X86, 2)).fail(new Error('connect ECONNREFUSED'));
    await until(() => status(X86) === 'failed');
    const second = cache.stateOf(x86);
    expect(second).toMatchObject({ attempts: 2, reason: 'connect ECONNREFUSED' });
    const secondDelay = (second.status === 'failed' ? (second.retryAt?.getTime() ?? 0) : 0) - firstRetryAt;
    expect(secondDelay).toBeGreaterThanOrEqual(16_000);
    expect(secondDelay).toBeLessThanOrEqual(24_000);

    clock.advanceTo(firstRetryAt + secondDelay);
    (await store.attempt(X86, 3)).succeed();
    await until(() => status(X86) === 'ready');
    expect(cache.lastFailure(x86)).toBeUndefined();
    expect(clock.scheduled).toBe(0);
  });

  it('says a full disk is one, whichever step ran out of space', async () => {
    const { cache, store, step, image } = await setUp([entry('x86_64'), entry('arm64')]);
    step.failing.set(ARM, new Error('xorriso: image size exceeds free space on media'));
    store.cached.add(ARM);
    const synced = cache.startSync();
    const full = Object.assign(new Error('write failed'), { cause: Object.assign(new Error('x'), { code: 'ENOSPC' }) });
    (await store.attempt(X86, 1)).fail(full);
    await synced;
    expect(cache.lastFailure(image(X86))?.reason).toBe('no space left on device: write failed');
    expect(cache.lastFailure(image(ARM))?.reason).toBe(
      'no space left on device: xorriso: image size exceeds free space on media',
    );
  });

  it('serves one image while another one fails or is still on its way', async () => {
    const { cache, store, step, image, status } = await setUp([entry('x86_64'), entry('arm64')]);
    void cache.startSync();
    const x86 = await store.attempt(X86, 1);
    x86.report({ status: 'downloading', bytesDone: 1, bytesTotal: 2 });
    (await store.attempt(ARM, 1)).succeed();
    await until(() => status(ARM) === 'ready');
    expect(status(X86)).toBe('downloading');
    expect(cache.readyImage(image(ARM))).toBeDefined();
    expect(cache.hasSettled(image(X86))).toBe(false);

    step.failing.set(X86, new Error('no kernel'));
    x86.succeed();
    await until(() => status(X86) === 'failed');
    expect(cache.lastFailure(image(X86))?.reason).toBe('no kernel');
    expect(cache.readyImage(image(ARM))).toBeDefined();
    expect(cache.snapshot().map(({ state }) => state.status)).toEqual(['failed', 'ready']);
  });

  it('on shutdown stops downloads without counting them as failures, and cancels pending retries', async () => {
    const { cache, clock, store, status } = await setUp([entry('x86_64'), entry('arm64')]);
    void cache.startSync();
    (await store.attempt(ARM, 1)).fail(new Error('HTTP 404'));
    const x86 = await store.attempt(X86, 1);
    x86.report({ status: 'downloading', bytesDone: 1, bytesTotal: 2 });
    await until(() => status(ARM) === 'failed');
    expect(clock.scheduled).toBe(1);

    cache.onApplicationShutdown();
    expect(x86.signal.aborted).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(status(X86)).toBe('downloading');
    expect(clock.scheduled).toBe(0);
  });
});
