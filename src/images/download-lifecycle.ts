import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DownloadResponder, type Downloadable } from './download-responder.js';
import { RequestSlots } from './request-slots.js';

/** Aborted when the client goes away before the response is complete. */
export function clientGoneSignal(response: Response): AbortSignal {
  const controller = new AbortController();
  if (response.destroyed || response.closed) controller.abort();
  else response.once('close', () => !response.writableFinished && controller.abort());
  return controller.signal;
}

/**
 * Runs one download: waits for a slot (MAX_CONCURRENT_REQUESTS), prepares the bytes, sends them, and gives the
 * slot back when the response closes — finished, failed or abandoned.
 */
@Injectable()
export class DownloadLifecycle {
  constructor(
    private readonly slots: RequestSlots,
    private readonly responder: DownloadResponder,
  ) {}

  async run(request: Request, response: Response, prepare: (signal: AbortSignal) => Promise<Downloadable>): Promise<void> {
    const signal = clientGoneSignal(response);
    const release = await this.slots.acquire(signal);
    if (response.closed) {
      release();
      return;
    }
    response.once('close', release);
    this.responder.send(request, response, await prepare(signal));
  }
}
