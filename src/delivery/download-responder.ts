import { Inject, Injectable, Module } from '@nestjs/common';
import type { Response } from 'express';
import { requestEnd } from '../common/request-end.js';
import { ServiceError } from '../common/service-error.js';
import { SharedDescriptors } from '../iso/index.js';
import { describeRequest } from '../logging/redact.js';
import { FAST_LANE_ANSWERS, counterProvider } from '../metrics/metrics.module.js';
import { DownloadWriter, RequestSlots } from './download-writer.js';
import { FastLane } from './fast-lane.js';
import { planDownloadResponse, prepareHeaders, type Download } from './response-plan.js';

/**
 * Runs one download of the application's routes: at the head of its connection (one slot per connection, however many
 * requests it pipelines), in a slot, with a signal for upstream calls that fires when the client goes
 * (docs/architecture.md, "Downloads"). A download that may be answered again as it is goes to the fast lane.
 */
@Injectable()
export class DownloadResponder {
  constructor(
    @Inject(RequestSlots) private readonly slots: RequestSlots,
    @Inject(DownloadWriter) private readonly writer: DownloadWriter,
    @Inject(FastLane) private readonly lane: FastLane,
  ) {}

  /** `response.req` is the request: controllers pass the response alone. */
  async serve(response: Response, prepare: (signal: AbortSignal) => Promise<Download> | Download): Promise<void> {
    const end = requestEnd(response);
    if (!end.atHeadOfLine && !(await end.untilHeadOfLine())) return;
    const gone = new AbortController();
    end.onEnd(() => {
      if (!response.writableFinished) gone.abort();
    });
    const release = this.slots.tryAcquire() ?? (await this.slots.acquire(gone.signal));
    end.onEnd(release);
    if (end.ended) return;
    const download = await prepare(gone.signal);
    if (end.ended) return;
    const plan = planDownloadResponse(prepareHeaders(download), response.req.headers);
    if (plan.status === 416) throw new ServiceError(416, plan.message, plan.headers);
    this.lane.remember(response.req, download);
    this.writer.write(response, download.file, plan, describeRequest(response.req));
  }
}

/** How download bytes reach clients: slots, Range and 304 answers, shared descriptors, the fast lane. */
@Module({
  providers: [
    DownloadResponder,
    DownloadWriter,
    FastLane,
    RequestSlots,
    { provide: SharedDescriptors, useFactory: () => new SharedDescriptors() },
    counterProvider({
      name: FAST_LANE_ANSWERS,
      help: 'Download requests answered by the fast lane, without the application (also in the HTTP metrics)',
    }),
  ],
  exports: [DownloadResponder, FastLane],
})
export class DeliveryModule {}
