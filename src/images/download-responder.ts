import { Injectable, StreamableFile } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { ServiceError } from '../common/service-error.js';
import { JsonLogger } from '../logging/json-logger.js';
import { describeRequest } from '../logging/request-description.js';
import { pumpSegments } from '../iso/index.js';
import { requestEnd } from '../server/request-end.js';
import { StalledDownloadSweep } from '../server/stalled-download-sweep.js';
import type { SegmentStream } from '../iso/index.js';
import type { VirtualFile } from '../iso/index.js';
import { planDownloadResponse, type DownloadResource } from './download-response.js';

export interface Downloadable extends DownloadResource {
  readonly file: VirtualFile;
}

/**
 * Sends a download with the status this request needs (200, 206 or 304). Bodies are pumped into the response
 * with a callback per write, which hands each read buffer back to the stream once the socket has taken its bytes:
 * a download reuses a few buffers instead of leaving one per chunk to the garbage collector. The Express adapter's
 * StreamableFile path pipes without callbacks, so it is kept for HEAD only (where it reads nothing); its two
 * guarantees for bodies are kept here: the source is destroyed (its file closed) as soon as the request ends (see
 * RequestEnd), and a failure before the first byte is a JSON error, after it a cut connection. A body whose client
 * stops taking bytes is cut by the StalledDownloadSweep.
 */
@Injectable()
export class DownloadResponder {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: JsonLogger,
    private readonly stalls: StalledDownloadSweep,
  ) {}

  send(request: Request, response: Response, download: Downloadable): void {
    const plan = planDownloadResponse(download, {
      method: request.method,
      range: request.headers.range,
      ifModifiedSince: request.headers['if-modified-since'],
    });
    if (plan.status === 416) {
      throw new ServiceError(416, plan.message, {
        'Content-Range': plan.headers['Content-Range'] ?? '',
        'Accept-Ranges': 'bytes',
      });
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
    this.stream(request, response, download.file.createReadStream(plan.status === 206 ? plan.range : undefined));
  }

  private stream(request: Request, response: Response, source: SegmentStream): void {
    source.on('error', (error: Error) => this.onStreamError(error, response, request));
    const body = this.stalls.watch(request);
    requestEnd(response).onEnd(() => {
      this.stalls.forget(body);
      if (!source.readableEnded) source.destroy();
    });
    // A failed socket write also closes the response, which destroys the source: nothing more to do here.
    response.on('error', () => undefined);
    pumpSegments(source, response, body);
  }

  /** Before headers the client gets a JSON 500; after them the connection is cut so the download shows as broken. */
  private onStreamError(error: Error, response: Response, request: Request): void {
    if (response.destroyed) return;
    this.logger.error(`download ${describeRequest(request).text} failed: ${error.message}`, 'DownloadResponder');
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.removeHeader('Content-Disposition');
    response.removeHeader('Content-Length');
    response.removeHeader('Content-Range');
    response
      .status(500)
      .json({ statusCode: 500, error: 'Internal Server Error', message: `reading the image failed: ${error.message}` });
  }
}
