import { Inject, Injectable } from '@nestjs/common';
import { Semaphore, SemaphoreQueueFullError, SemaphoreWaitTimeoutError, type Release } from '../common/semaphore.js';
import { ServiceError } from '../common/service-error.js';
import { ServerConfig } from '../config/app-config.js';

/** MAX_CONCURRENT_REQUESTS downloads at once, MAX_QUEUED_REQUESTS waiting; a 503 for one that finds no slot. */
@Injectable()
export class RequestSlots extends Semaphore {
  constructor(@Inject(ServerConfig) private readonly server: ServerConfig) {
    const { maxConcurrentRequests, maxQueuedRequests, maxQueueWaitSeconds } = server;
    super(maxConcurrentRequests, { maxWaiting: maxQueuedRequests, maxWaitMs: maxQueueWaitSeconds * 1000 });
  }

  override async acquire(signal?: AbortSignal): Promise<Release> {
    try {
      return await super.acquire(signal);
    } catch (error) {
      const { maxConcurrentRequests: slots, maxQueuedRequests: queued, maxQueueWaitSeconds: wait } = this.server;
      let why: string | undefined;
      if (error instanceof SemaphoreQueueFullError)
        why = `all ${slots} download slots are busy and the queue is full (${queued} downloads already wait for one)`;
      if (error instanceof SemaphoreWaitTimeoutError)
        why = `waited ${wait} s for a download slot and none came free (all ${slots} stayed busy)`;
      if (why === undefined) throw error;
      // Slots free whenever any download ends, and most are short Range requests.
      throw new ServiceError(503, `${why}; try again later`, { 'Retry-After': '5' });
    }
  }
}
