/** Thrown to a waiter whose signal fired before a slot came free. */
export class SemaphoreAbortedError extends Error {
  override name = 'AbortError';
}

type Release = () => void;

interface Waiter {
  grant(release: Release): void;
}

/**
 * A counting semaphore with a FIFO queue. A waiter that gives up (its signal fires) leaves the queue at once,
 * so a client that disconnects while queued never takes a slot.
 */
export class Semaphore {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  /** `limit` 0 means unlimited. */
  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(new SemaphoreAbortedError('gave up waiting for a slot'));
    if (this.limit === 0 || this.active < this.limit) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = (): void => {
        const position = this.waiters.indexOf(waiter);
        if (position >= 0) this.waiters.splice(position, 1);
        reject(new SemaphoreAbortedError('gave up waiting for a slot'));
      };
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
