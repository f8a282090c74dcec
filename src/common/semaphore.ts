export class SemaphoreAbortedError extends Error {
  override name = 'AbortError';
}
export class SemaphoreQueueFullError extends Error {
  override name = 'SemaphoreQueueFullError';
}
export class SemaphoreWaitTimeoutError extends Error {
  override name = 'SemaphoreWaitTimeoutError';
}

export type Release = () => void;

/**
 * A counting semaphore (`limit` 0: unlimited) with a FIFO queue of at most `maxWaiting`. A waiter leaves when its
 * signal fires (a client gone while queued never takes a slot) and is refused after `maxWaitMs`.
 */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<(release: Release) => void> = [];

  constructor(
    private readonly limit: number,
    private readonly options: { readonly maxWaiting?: number; readonly maxWaitMs?: number } = {},
  ) {}

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
    if (this.waiters.length >= (this.options.maxWaiting ?? Infinity)) {
      const message = `all ${this.limit} slots are taken and ${this.waiters.length} already wait for one`;
      return Promise.reject(new SemaphoreQueueFullError(message));
    }
    return new Promise((resolve, reject) => {
      const waiter = (release?: Release, error?: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (release !== undefined) return resolve(release);
        const position = this.waiters.indexOf(waiter);
        if (position >= 0) this.waiters.splice(position, 1);
        reject(error);
      };
      const onAbort = (): void => waiter(undefined, new SemaphoreAbortedError('gave up waiting for a slot'));
      const { maxWaitMs } = this.options;
      const timeout = (): void =>
        waiter(undefined, new SemaphoreWaitTimeoutError(`no slot came free within ${maxWaitMs} ms`));
      // Node keeps timers of one duration in one list: cheap even with a full queue.
      const timer = maxWaitMs === undefined ? undefined : setTimeout(timeout, maxWaitMs).unref();
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
      this.waiters.shift()?.(this.take());
    };
  }
}
