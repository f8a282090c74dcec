import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { requestEnd } from '../common/request-end.js';
import { Semaphore, SemaphoreQueueFullError, SemaphoreWaitTimeoutError, type Release } from '../common/semaphore.js';
import { ServiceError } from '../common/service-error.js';
import { ServerConfig } from '../config/app-config.js';
import { ChunkBufferPool, SharedDescriptors, pumpSegments, type VirtualFile } from '../iso/index.js';
import { JsonLogger } from '../logging/json-logger.js';
import { answerJsonError } from '../server/protocol-errors.js';
import type { ServablePlan } from './response-plan.js';

/** What logs may say of a request: its route template and a description without credentials. */
export type RequestLabel = { readonly route: string; readonly text: string };

/** A body being sent, as the stall sweep sees it: each write's callback counts a chunk the client has taken. */
interface SendingBody {
  readonly request: IncomingMessage;
  readonly route: string;
  chunksWritten: number;
  chunksSeen: number;
  idleSweeps: number;
}

/** Sent with one read and one write (a BMC reads 64 KiB or a little more); longer bodies are streamed by chunks. */
const WHOLE_BODY_BYTES = 128 * 1024;
/**
 * Their buffers are used again once the socket has taken them: a buffer per request would be external memory that
 * makes V8 run full collections of the whole heap every few hundred requests (docs/architecture.md, "Downloads").
 */
const WHOLE_BODY_BUFFERS = new ChunkBufferPool(WHOLE_BODY_BYTES, 64);

/**
 * Writes a planned download to Node's response, for the application's routes and the fast lane alike: files are read
 * by position through descriptors shared by every request (docs/architecture.md, "Downloads"). One sweep for all
 * bodies, not a timer each, cuts clients that stopped reading, and retires descriptors of files replaced on disk.
 */
@Injectable()
export class DownloadWriter implements OnModuleDestroy {
  private readonly bodies = new Set<SendingBody>();
  private readonly sweepsToStall: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(SharedDescriptors) private readonly files: SharedDescriptors,
    @Inject(ServerConfig) private readonly server: ServerConfig,
    @Inject(JsonLogger) private readonly logger: JsonLogger,
  ) {
    const stallMs = server.downloadStallSeconds * 1000;
    const intervalMs = Math.min(Math.max(stallMs / 4, 250), 10_000);
    // A body registered just before a sweep is counted idle at once: one sweep more makes the time a lower bound.
    this.sweepsToStall = Math.ceil(stallMs / intervalMs) + 1;
    this.sweeper = setInterval(() => this.sweep(), intervalMs).unref();
  }

  /** A 416 is not written here: it is an error answer, which the caller gives its own way. */
  write(response: ServerResponse, file: VirtualFile, plan: ServablePlan, label: RequestLabel): void {
    const request = response.req;
    if (plan.status === 304 || request.method === 'HEAD') {
      // The exact length but no body: nothing is opened or read.
      return void response.writeHead(plan.status, plan.headers).end();
    }
    const range = plan.status === 206 ? plan.range : { start: 0, end: file.size - 1 };
    const body: SendingBody = { request, route: label.route, chunksWritten: 0, chunksSeen: 0, idleSweeps: 0 };
    this.bodies.add(body);
    const end = requestEnd(response);
    end.onEnd(() => this.bodies.delete(body));
    // A failed socket write also closes the response, which ends the request: nothing more to do here.
    response.on('error', () => undefined);
    if (range.end - range.start < WHOLE_BODY_BYTES) {
      const buffer = WHOLE_BODY_BUFFERS.take();
      return void file.read(range, this.files, buffer).then(
        (bytes) => {
          if (end.ended) return WHOLE_BODY_BUFFERS.give(buffer.buffer as ArrayBuffer);
          response.writeHead(plan.status, plan.headers);
          // Given back only once written: a request that ends before that leaves its buffer to the collector.
          response.end(bytes, () => {
            body.chunksWritten++;
            WHOLE_BODY_BUFFERS.give(buffer.buffer as ArrayBuffer);
          });
        },
        (error: Error) => this.onReadError(error, response, label),
      );
    }
    for (const [name, value] of Object.entries(plan.headers)) response.setHeader(name, value);
    response.statusCode = plan.status;
    const source = file.createReadStream(plan.status === 206 ? plan.range : undefined, { files: this.files });
    source.on('error', (error: Error) => this.onReadError(error, response, label));
    end.onEnd(() => {
      if (!source.readableEnded) source.destroy();
    });
    pumpSegments(source, response, body);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    this.files.closeAll();
  }

  /** Before headers the client gets a JSON 500; after them the connection is cut so the download shows as broken. */
  private onReadError(error: Error, response: ServerResponse, label: RequestLabel): void {
    if (response.destroyed) return;
    this.logger.error(`download ${label.text} failed: ${error.message}`, DownloadWriter.name);
    if (response.headersSent) return void response.destroy();
    for (const header of ['Content-Disposition', 'Content-Length', 'Content-Range']) response.removeHeader(header);
    answerJsonError(response, 500, `reading the image failed: ${error.message}`);
  }

  private sweep(): void {
    this.files.sweep();
    for (const body of this.bodies) {
      if (body.chunksWritten !== body.chunksSeen) {
        body.chunksSeen = body.chunksWritten;
        body.idleSweeps = 0;
      } else if (++body.idleSweeps >= this.sweepsToStall) {
        this.bodies.delete(body);
        const { request, route } = body;
        const message = `download stalled: the client took no bytes for ${this.server.downloadStallSeconds} s; closing its connection`;
        // The route template, never the raw URL: it may carry credentials.
        const fields = { method: request.method, route, remote: request.socket.remoteAddress ?? null };
        this.logger.record('info', 'StalledDownloadSweep', message, fields);
        // Ending the request releases its slot, file and metrics where they were taken.
        request.socket.destroy();
      }
    }
  }
}

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
