import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { pipelinedOn, requestEnd } from '../common/request-end.js';
import type { JsonLogger } from '../logging/json-logger.js';

/** Downloads are binary and errors are JSON: neither may be sniffed into something a browser would render or run. */
export function securityHeaders(_request: Request, response: Response, next: NextFunction): void {
  response.setHeader('X-Content-Type-Options', 'nosniff');
  next();
}

/** `*`, an exact origin, a host name (any scheme and port) or `*.example.com` (its subdomains) matches. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  const hostname = URL.parse(origin)?.hostname.toLowerCase();
  if (hostname === undefined) return false;
  return allowed.some((entry) => {
    const rule = entry.toLowerCase();
    if (rule === '*') return true;
    if (rule.includes('://')) return rule.replace(/\/$/, '') === origin.toLowerCase();
    const host = rule.replace(/:\d+$/, '');
    if (host.startsWith('*.')) return hostname.endsWith(host.slice(1)) && hostname.length > host.length - 1;
    return hostname === host;
  });
}

/** CORS for the image and artifact routes only; nothing when ALLOWED_DOMAINS is not set. */
export function corsMiddleware(allowed: readonly string[]): RequestHandler[] {
  if (allowed.length === 0) return [];
  const handler = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && originAllowed(origin, allowed)),
    methods: ['GET', 'HEAD'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    exposedHeaders: ['Content-Length', 'Content-Range', 'Content-Disposition', 'Accept-Ranges', 'Last-Modified'],
    maxAge: 600,
    optionsSuccessStatus: 204,
  });
  const routes = /^\/(images|byid|bytoken|byapikey|boot-artifacts)\//i;
  return [(request, response, next) => (routes.test(request.path) ? handler(request, response, next) : next())];
}

/**
 * Closes a connection with more than `limit` requests queued behind the one being answered: responses go out in order,
 * so they cannot be refused one by one, and Node's back-pressure counts bytes, which they have none of.
 */
export function pipelineLimit(logger: JsonLogger, limit = 16): RequestHandler {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (response.socket) return next();
    requestEnd(response);
    const connection = request.socket;
    if (pipelinedOn(connection) <= limit) return next();
    if (connection.destroyed) return;
    const message = `more than ${limit} pipelined requests wait on one connection; closing it`;
    logger.record('info', 'PipelineLimit', message, { remote: request.ip ?? null });
    connection.destroy();
  };
}
