import { Readable } from 'node:stream';
import { Inject, Injectable, StreamableFile, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Request, Response } from 'express';
import { requestEnd } from '../common/request-end.js';
import { Semaphore, SemaphoreQueueFullError, SemaphoreWaitTimeoutError, type Release } from '../common/semaphore.js';
import { ServiceError } from '../common/service-error.js';
import { ServerConfig } from '../config/app-config.js';
import { pumpSegments, type VirtualFile } from '../iso/index.js';
import { JsonLogger } from '../logging/json-logger.js';
import { describeRequest, routeTemplate } from '../logging/redact.js';
import { planDownloadResponse, type DownloadResource } from './download-response.js';

export interface Download extends DownloadResource {
  readonly file: VirtualFile;
}

/** A body being streamed, as the stall sweep sees it: the pump counts the chunks the client has taken. */
interface StreamingBody {
  readonly request: Request;
  chunksWritten: number;
  chunksSeen: number;
  idleSweeps: number;
}

/**
 * MAX_CONCURRENT_REQUESTS downloads at once; up to MAX_QUEUED_REQUESTS more wait in a FIFO queue, each for at most
 * MAX_QUEUE_WAIT_SECONDS. The one after them, or one that waited too long, is answered 503 with Retry-After.
 */
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

/**
 * Runs one download: waits until its response is at the head of its connection (so one connection holds at most one
 * slot, however many requests it pipelines), then for a slot, prepares the bytes (upstream calls get a signal that
 * fires when the client goes) and sends them with the status the request needs (200, 206, 304 or 416).
 *
 * Bodies are pumped with a callback per write, which hands each read buffer back once the socket has taken its bytes:
 * a download reuses a few buffers. The Express adapter's StreamableFile pipes without callbacks, so it is used for
 * HEAD only; its guarantees are kept here: the source is destroyed as soon as the request ends, and a failure before
 * the first byte is a JSON error, after it a cut connection.
 *
 * A client that takes no bytes for DOWNLOAD_STALL_SECONDS is cut: it holds a slot, a file and socket buffers, and TCP
 * alone may keep it for hours. One sweep for all bodies rather than a timer per download keeps the Range-request path
 * at a counter per chunk; sweeping every quarter of the stall time (at most every 10 s), a body is cut after between
 * one stall time and one sweep more without progress.
 */
@Injectable()
export class DownloadResponder implements OnModuleDestroy {
  private readonly bodies = new Set<StreamingBody>();
  private readonly sweepsToStall: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(RequestSlots) private readonly slots: RequestSlots,
    @Inject(ServerConfig) private readonly server: ServerConfig,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(JsonLogger) private readonly logger: JsonLogger,
  ) {
    const stallMs = server.downloadStallSeconds * 1000;
    const intervalMs = Math.min(Math.max(stallMs / 4, 250), 10_000);
    // A body registered just before a sweep is counted idle at once: one sweep more makes the time a lower bound.
    this.sweepsToStall = Math.ceil(stallMs / intervalMs) + 1;
    this.sweeper = setInterval(() => this.sweep(), intervalMs).unref();
  }

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
    if (!end.ended) this.send(response.req, response, download);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private send(request: Request, response: Response, download: Download): void {
    const plan = planDownloadResponse(download, request.headers.range, request.headers['if-modified-since']);
    if (plan.status === 416) {
      const headers = { 'Content-Range': plan.headers['Content-Range'] ?? '', 'Accept-Ranges': 'bytes' };
      throw new ServiceError(416, plan.message, headers);
    }
    response.set(plan.headers);
    const adapter = this.adapterHost.httpAdapter;
    if (plan.status === 304) return void adapter.reply(response, undefined, 304);
    if (request.method === 'HEAD') {
      // The exact length but no body: nothing is opened or read.
      const empty = new StreamableFile(Readable.from([])).setErrorLogger(() => undefined);
      return void adapter.reply(response, empty, plan.status);
    }
    response.status(plan.status);
    const source = download.file.createReadStream(plan.status === 206 ? plan.range : undefined);
    source.on('error', (error: Error) => this.onStreamError(error, request, response));
    const body: StreamingBody = { request, chunksWritten: 0, chunksSeen: 0, idleSweeps: 0 };
    this.bodies.add(body);
    requestEnd(response).onEnd(() => {
      this.bodies.delete(body);
      if (!source.readableEnded) source.destroy();
    });
    // A failed socket write also closes the response, which destroys the source: nothing more to do here.
    response.on('error', () => undefined);
    pumpSegments(source, response, body);
  }

  /** Before headers the client gets a JSON 500; after them the connection is cut so the download shows as broken. */
  private onStreamError(error: Error, request: Request, response: Response): void {
    if (response.destroyed) return;
    this.logger.error(`download ${describeRequest(request).text} failed: ${error.message}`, DownloadResponder.name);
    if (response.headersSent) return void response.destroy();
    for (const header of ['Content-Disposition', 'Content-Length', 'Content-Range']) response.removeHeader(header);
    const message = `reading the image failed: ${error.message}`;
    response.status(500).json({ statusCode: 500, error: 'Internal Server Error', message });
  }

  private sweep(): void {
    for (const body of this.bodies) {
      if (body.chunksWritten !== body.chunksSeen) {
        body.chunksSeen = body.chunksWritten;
        body.idleSweeps = 0;
      } else if (++body.idleSweeps >= this.sweepsToStall) {
        this.bodies.delete(body);
        const { request } = body;
        const message = `download stalled: the client took no bytes for ${this.server.downloadStallSeconds} s; closing its connection`;
        // The route template, never the raw URL: it may carry credentials.
        const fields = { method: request.method, route: routeTemplate(request), remote: request.ip ?? null };
        this.logger.record('info', 'StalledDownloadSweep', message, fields);
        // Ending the request releases its slot, file and metrics where they were taken.
        request.socket.destroy();
      }
    }
  }
}
