import { Injectable, StreamableFile } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { ServiceError } from '../common/service-error.js';
import { JsonLogger } from '../logging/json-logger.js';
import type { VirtualFile } from '../iso/virtual-file.js';
import { planDownloadResponse, type DownloadResource } from './download-response.js';

export interface Downloadable extends DownloadResource {
  readonly file: VirtualFile;
}

/**
 * Sends a download through the Express adapter's StreamableFile path — which destroys the source when the client
 * goes away and reads nothing for HEAD — with the status this request needs (200, 206 or 304).
 */
@Injectable()
export class DownloadResponder {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: JsonLogger,
  ) {}

  send(request: Request, response: Response, download: Downloadable): void {
    const plan = planDownloadResponse(download, {
      method: request.method,
      range: request.headers.range,
      ifModifiedSince: request.headers['if-modified-since'],
    });
    if (plan.status === 416) {
      throw new ServiceError(416, plan.message, { 'Content-Range': plan.headers['Content-Range'] ?? '', 'Accept-Ranges': 'bytes' });
    }
    response.set(plan.headers);
    const adapter = this.adapterHost.httpAdapter;
    if (plan.status === 304) return void adapter.reply(response, undefined, 304);
    // A HEAD answer carries the exact length but no body: nothing is opened or read for it.
    const source = request.method === 'HEAD' ? Readable.from([]) : download.file.createReadStream(plan.status === 206 ? plan.range : undefined);
    const body = new StreamableFile(source)
      .setErrorHandler((error, res) => this.onStreamError(error, res as Response, request))
      .setErrorLogger(() => undefined);
    adapter.reply(response, body, plan.status);
  }

  /** Before headers the client gets a JSON 500; after them the connection is cut so the download shows as broken. */
  private onStreamError(error: Error, response: Response, request: Request): void {
    this.logger.error(`download ${request.method} ${request.originalUrl} failed: ${error.message}`, 'DownloadResponder');
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.removeHeader('Content-Disposition');
    response.removeHeader('Content-Length');
    response.removeHeader('Content-Range');
    response.status(500).json({ statusCode: 500, error: 'Internal Server Error', message: `reading the image failed: ${error.message}` });
  }
}
