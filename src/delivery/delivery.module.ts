import { Module } from '@nestjs/common';
import { SharedDescriptors } from '../iso/index.js';
import { FAST_LANE_ANSWERS, counterProvider } from '../metrics/prometheus.js';
import { DownloadResponder } from './download-responder.js';
import { DownloadWriter } from './download-writer.js';
import { FastLane } from './fast-lane.js';
import { RequestSlots } from './request-slots.js';

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
