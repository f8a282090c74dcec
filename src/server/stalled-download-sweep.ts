import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Request } from 'express';
import { ServerConfig } from '../config/app-config.js';
import type { PumpProgress } from '../iso/index.js';
import { JsonLogger } from '../logging/json-logger.js';
import { routeTemplate } from '../metrics/http-observer.js';

/** One body being streamed, as the sweep sees it. The pump counts the chunks the client has taken. */
export class StreamingBody implements PumpProgress {
  chunksWritten = 0;
  /** `chunksWritten` at the previous sweep. */
  chunksSeen = 0;
  /** Sweeps in a row that saw no new chunk taken. */
  idleSweeps = 0;

  constructor(readonly request: Request) {}
}

/**
 * Cuts downloads whose client takes no bytes for DOWNLOAD_STALL_SECONDS: such a client holds a slot, an open file
 * and socket buffers, and TCP alone may keep it for hours. A body makes progress when a write callback completes in
 * the pump (the socket took the chunk).
 *
 * One sweep for all bodies, not a timer per download: Range requests are many and short, and on their path the only
 * cost is a counter increment per chunk and a set insertion. The sweep runs every quarter of the stall time (at most
 * every 10 s), so a body is cut after between one stall time and one sweep more of no progress.
 */
@Injectable()
export class StalledDownloadSweep implements OnModuleDestroy {
  private readonly bodies = new Set<StreamingBody>();
  private readonly stallSeconds: number;
  /** Idle sweeps after which a body has certainly made no progress for the stall time. */
  private readonly sweepsToStall: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    server: ServerConfig,
    private readonly logger: JsonLogger,
  ) {
    this.stallSeconds = server.downloadStallSeconds;
    const stallMs = server.downloadStallSeconds * 1000;
    const intervalMs = Math.min(Math.max(stallMs / 4, 250), 10_000);
    // A body registered just before a sweep is counted idle at once: one sweep more makes the time a lower bound.
    this.sweepsToStall = Math.ceil(stallMs / intervalMs) + 1;
    this.timer = setInterval(() => this.sweep(), intervalMs).unref();
  }

  /** Starts watching a body; `forget` it when its request ends. */
  watch(request: Request): StreamingBody {
    const body = new StreamingBody(request);
    this.bodies.add(body);
    return body;
  }

  forget(body: StreamingBody): void {
    this.bodies.delete(body);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private sweep(): void {
    for (const body of this.bodies) {
      if (body.chunksWritten !== body.chunksSeen) {
        body.chunksSeen = body.chunksWritten;
        body.idleSweeps = 0;
      } else if (++body.idleSweeps >= this.sweepsToStall) {
        this.cut(body);
      }
    }
  }

  private cut(body: StreamingBody): void {
    this.bodies.delete(body);
    const { request } = body;
    // The route template, never the raw URL: it may carry credentials.
    this.logger.record(
      'info',
      StalledDownloadSweep.name,
      `download stalled: the client took no bytes for ${this.stallSeconds} s; closing its connection`,
      {
        method: request.method,
        route: routeTemplate(request),
        remote: request.ip ?? null,
      },
    );
    // Destroying the connection ends the request: its slot, file and metrics are released where they were taken.
    request.socket.destroy();
  }
}
