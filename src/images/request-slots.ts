import { Injectable } from '@nestjs/common';
import { Semaphore, SemaphoreQueueFullError, SemaphoreWaitTimeoutError, type Release } from '../common/semaphore.js';
import { ServiceError } from '../common/service-error.js';
import { ServerConfig } from '../config/app-config.js';

/**
 * What a refused download is told to wait. Slots free whenever any download ends, and most are short Range
 * requests, so a few seconds is a fair guess; a client that comes back too early meets the same bounded queue.
 */
const RETRY_AFTER_SECONDS = '5';

/**
 * `MAX_CONCURRENT_REQUESTS`: downloads served at once. Up to `MAX_QUEUED_REQUESTS` more wait in a FIFO queue, each
 * for at most `MAX_QUEUE_WAIT_SECONDS`; the one after them, or one that waited too long, is answered 503 with
 * `Retry-After`. A client that leaves while queued gives its place up at once (its signal fires).
 */
@Injectable()
export class RequestSlots {
  private readonly semaphore: Semaphore;

  constructor(private readonly server: ServerConfig) {
    this.semaphore = new Semaphore(server.maxConcurrentRequests, {
      maxWaiting: server.maxQueuedRequests,
      maxWaitMs: server.maxQueueWaitSeconds * 1000,
    });
  }

  /** A free slot, or undefined when the caller has to queue with `acquire`. */
  tryAcquire(): Release | undefined {
    return this.semaphore.tryAcquire();
  }

  /** Waits for a slot; a full queue or a wait over the limit is a 503 that says which. */
  async acquire(signal: AbortSignal): Promise<Release> {
    try {
      return await this.semaphore.acquire(signal);
    } catch (error) {
      const { maxConcurrentRequests, maxQueuedRequests, maxQueueWaitSeconds } = this.server;
      if (error instanceof SemaphoreQueueFullError) {
        throw busy(
          `all ${maxConcurrentRequests} download slots are busy and the queue is full (${maxQueuedRequests} downloads already wait for one)`,
        );
      }
      if (error instanceof SemaphoreWaitTimeoutError) {
        throw busy(
          `waited ${maxQueueWaitSeconds} s for a download slot and none came free (all ${maxConcurrentRequests} stayed busy)`,
        );
      }
      throw error;
    }
  }

  get inUse(): number {
    return this.semaphore.inUse;
  }

  get waiting(): number {
    return this.semaphore.waiting;
  }
}

function busy(why: string): ServiceError {
  return new ServiceError(503, `${why}; try again later`, { 'Retry-After': RETRY_AFTER_SECONDS });
}
