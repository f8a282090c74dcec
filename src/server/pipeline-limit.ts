import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { JsonLogger } from '../logging/json-logger.js';
import { pipelinedOn, requestEnd } from './request-end.js';

/**
 * Pipelined requests one connection may have waiting behind the response it is being sent. Real clients pipeline
 * a few at most (most never do); more only piles up work for a client that is not reading.
 */
export const MAX_PIPELINED_PER_CONNECTION = 16;

/**
 * Closes a connection that has more than `limit` requests waiting behind the one being answered. Responses must go
 * out in order, so the waiting ones cannot be answered sooner or refused one by one. A download that waits holds no
 * slot and writes nothing (DownloadLifecycle), so Node's own back-pressure on pipelining, which counts bytes queued
 * by waiting responses, never engages for them: without this limit one connection could queue any number.
 */
export function pipelineLimit(logger: JsonLogger, limit = MAX_PIPELINED_PER_CONNECTION): RequestHandler {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (response.socket) return next();
    requestEnd(response);
    const connection = request.socket;
    if (pipelinedOn(connection) <= limit) return next();
    if (!connection.destroyed) {
      logger.record(
        'info',
        'PipelineLimit',
        `more than ${limit} pipelined requests wait on one connection; closing it`,
        { remote: request.ip ?? null },
      );
      connection.destroy();
    }
  };
}
