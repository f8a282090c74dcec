/** Thrown to a waiter whose signal fired before a slot came free. */
export class SemaphoreAbortedError extends Error {
  override name = 'AbortError';
}

/** Thrown at once when `maxWaiting` others are already waiting. */
export class SemaphoreQueueFullError extends Error {
  override name = 'SemaphoreQueueFullError';
}

/** Thrown to a waiter that waited `maxWaitMs` without getting a slot. */
export class SemaphoreWaitTimeoutError extends Error {
  override name = 'SemaphoreWaitTimeoutError';
}

export type Release = () => void;

export interface SemaphoreOptions {
  /** How many may wait; one more is refused at once. Unbounded when not given. */
  readonly maxWaiting?: number;
  /** How long one may wait before it is refused. Unbounded when not given. */
  readonly maxWaitMs?: number;
}

interface Waiter {
  grant(release: Release): void;
}

/**
 * A counting semaphore with a bounded FIFO queue. A waiter that gives up (its signal fires) leaves the queue at once,
 * so a client that disconnects while queued never takes a slot; a waiter that waits too long is refused, so a queue
 * behind slots that never free cannot hold its clients forever.
 */
export class Semaphore {
  private active = 0;
  private readonly waiters: Waiter[] = [];
  private readonly maxWaiting: number;
  private readonly maxWaitMs: number;

  /** `limit` 0 means unlimited. */
  constructor(
    private readonly limit: number,
    options: SemaphoreOptions = {},
  ) {
    this.maxWaiting = options.maxWaiting ?? Number.POSITIVE_INFINITY;
    this.maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
  }

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** A slot now if one is free (no one waits then), else undefined: the common case costs no promise. */
  tryAcquire(): Release | undefined {
    return this.limit === 0 || this.active < this.limit ? this.take() : undefined;
  }

  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(new SemaphoreAbortedError('gave up waiting for a slot'));
    const free = this.tryAcquire();
    if (free !== undefined) return Promise.resolve(free);
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(
        new SemaphoreQueueFullError(
          `all ${this.limit} slots are taken and ${this.waiters.length} already wait for one`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const leave = (error: Error): void => {
        const position = this.waiters.indexOf(waiter);
        if (position >= 0) this.waiters.splice(position, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = (): void => leave(new SemaphoreAbortedError('gave up waiting for a slot'));
      const waiter: Waiter = {
        grant: (release) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      // Only waiters get a timer, and Node keeps timers of one duration in one list: cheap even with a full queue.
      const timer = Number.isFinite(this.maxWaitMs)
        ? setTimeout(
            () => leave(new SemaphoreWaitTimeoutError(`no slot came free within ${this.maxWaitMs} ms`)),
            this.maxWaitMs,
          ).unref()
        : undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  private take(): Release {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiters.shift()?.grant(this.take());
    };
  }
}
