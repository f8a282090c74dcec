import { Injectable } from '@nestjs/common';
import { Semaphore } from '../common/semaphore.js';
import { ServerConfig } from '../config/app-config.js';

/**
 * `MAX_CONCURRENT_REQUESTS`: downloads served at once. More wait in a FIFO queue; a client that leaves while
 * queued gives its place up at once (its signal fires and it leaves the queue).
 */
@Injectable()
export class RequestSlots {
  private readonly semaphore: Semaphore;

  constructor(server: ServerConfig) {
    this.semaphore = new Semaphore(server.maxConcurrentRequests);
  }

  acquire(signal: AbortSignal): Promise<() => void> {
    return this.semaphore.acquire(signal);
  }

  get inUse(): number {
    return this.semaphore.inUse;
  }

  get waiting(): number {
    return this.semaphore.waiting;
  }
}
