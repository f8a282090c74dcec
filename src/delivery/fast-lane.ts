import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Counter } from 'prom-client';
import { requestEnd } from '../common/request-end.js';
import { ServerConfig } from '../config/app-config.js';
import type { VirtualFile } from '../iso/index.js';
import { JsonLogger } from '../logging/json-logger.js';
import { describeRequest } from '../logging/redact.js';
import * as metrics from '../metrics/metrics.module.js';
import { DownloadWriter, RequestSlots, type RequestLabel } from './download-writer.js';
import { planDownloadResponse, prepareHeaders, type Download, type PreparedHeaders } from './response-plan.js';

interface LaneEntry {
  /** Held weakly: the customisation cache decides how long a customised file lives, not this map. */
  readonly file: WeakRef<VirtualFile>;
  readonly stillCurrent: () => boolean;
  readonly headers: PreparedHeaders;
  readonly group: string;
  readonly description: metrics.RequestDescription & RequestLabel;
}

/** Distinct requests remembered; the oldest goes first. Each entry is a few hundred bytes and a weak reference. */
const MAX_ENTRIES = 4096;
/** Longer URLs are answered by the application each time rather than kept. */
const MAX_KEY_CHARS = 2048;

/**
 * Answers a download request the application has answered before, while its answer stays the same, without Express,
 * the router, pipes or assisted-service: the per-request cost of a BMC's thousands of small Range reads is then the
 * bytes and little else. Everything else — and any doubt — goes to the application. See docs/architecture.md,
 * "The fast lane", for what is checked and why the answers are the same.
 */
@Injectable()
export class FastLane {
  private readonly entries = new Map<string, LaneEntry>();

  constructor(
    @Inject(RequestSlots) private readonly slots: RequestSlots,
    @Inject(DownloadWriter) private readonly writer: DownloadWriter,
    @Inject(metrics.HttpObserver) private readonly observer: metrics.HttpObserver,
    @Inject(JsonLogger) private readonly logger: JsonLogger,
    @metrics.InjectMetric(metrics.FAST_LANE_ANSWERS) private readonly answers: Counter,
    @Inject(ServerConfig) private readonly server: ServerConfig,
  ) {}

  /** Called by the application once it has a download for `request`: the same request may come to the lane next. */
  remember(request: Request, download: Download): void {
    const key = keyOf(request, request.originalUrl);
    if (download.stillCurrent === undefined || key === undefined || this.entries.has(key)) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value ?? '');
    this.entries.set(key, {
      file: new WeakRef(download.file),
      stillCurrent: download.stillCurrent,
      headers: prepareHeaders(download),
      group: metrics.routeGroup(request.path),
      description: describeRequest(request),
    });
  }

  /** True when the lane took the request; false leaves it, untouched, to the application. */
  readonly tryServe = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (this.entries.size === 0 || (request.method !== 'GET' && request.method !== 'HEAD')) return false;
    // CORS answers depend on the Origin; a pipelined request waits its turn in the application's queue.
    if ((this.server.allowedDomains.length > 0 && request.headers.origin !== undefined) || !response.socket)
      return false;
    const key = keyOf(request, request.url);
    const entry = key === undefined ? undefined : this.entries.get(key);
    if (entry === undefined || key === undefined) return false;
    const file = entry.file.deref();
    if (file === undefined || !entry.stillCurrent()) {
      this.entries.delete(key);
      return false;
    }
    const plan = planDownloadResponse(entry.headers, request.headers);
    // A 416 is an error answer: the application words it.
    if (plan.status === 416) return false;
    const release = this.slots.tryAcquire();
    if (release === undefined) return false;
    this.answers.inc();
    try {
      this.observer.track(request, response, entry.group, () => entry.description);
      requestEnd(response).onEnd(release);
      this.writer.write(response, file, plan, entry.description);
    } catch (error) {
      // Half answered: only cutting the connection is honest now. Ending the request releases what it held.
      this.logger.error(`fast lane: ${entry.description.text} failed: ${String(error)}`, FastLane.name);
      response.destroy();
    }
    return true;
  };
}

/**
 * What decides the answer besides the method and the headers the lane reads itself: the URL and the credential. A URL
 * holds no line break (Node refuses one), so the URL alone, without an Authorization header, cannot collide.
 */
function keyOf(request: IncomingMessage, url: string | undefined): string | undefined {
  const { authorization } = request.headers;
  if (url === undefined || url.length + (authorization?.length ?? 0) > MAX_KEY_CHARS) return undefined;
  // An empty header counts as none, as it does for the credential.
  return authorization ? `${url}\n${authorization}` : url;
}
