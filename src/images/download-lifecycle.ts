import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { requestEnd, type RequestEnd } from '../server/request-end.js';
import { DownloadResponder, type Downloadable } from './download-responder.js';
import { RequestSlots } from './request-slots.js';

/** Aborted when the request ends before its response is complete: the client left, or its connection was cut. */
export function clientGoneSignal(response: Response, end: RequestEnd = requestEnd(response)): AbortSignal {
  const controller = new AbortController();
  end.onEnd(() => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * Runs one download: waits until its response is at the head of its connection, then for a slot
 * (MAX_CONCURRENT_REQUESTS), prepares the bytes (upstream calls get a signal that fires when the client goes) and
 * sends them. The slot is given back when the request ends, however it ends.
 *
 * A pipelined request waits for the responses before it on its connection before it takes a slot or calls anyone:
 * it could not send a byte earlier anyway, and this way one connection holds at most one slot, whatever it sends.
 */
@Injectable()
export class DownloadLifecycle {
  constructor(
    private readonly slots: RequestSlots,
    private readonly responder: DownloadResponder,
  ) {}

  async run(
    request: Request,
    response: Response,
    prepare: (signal: AbortSignal) => Promise<Downloadable>,
  ): Promise<void> {
    const end = requestEnd(response);
    if (!end.atHeadOfLine && !(await end.untilHeadOfLine())) return;
    const signal = clientGoneSignal(response, end);
    const release = this.slots.tryAcquire() ?? (await this.slots.acquire(signal));
    end.onEnd(release);
    if (end.ended) return;
    const download = await prepare(signal);
    if (end.ended) return;
    this.responder.send(request, response, download);
  }
}
