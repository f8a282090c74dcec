import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Image and artifact routes take CORS (reference §7.7); probes, metrics and docs do not. */
const CORS_ROUTES = /^\/(images|byid|bytoken|byapikey|boot-artifacts)\//i;

/**
 * `ALLOWED_DOMAINS` entries: `*`, an exact origin (`https://console.example.com:8443`), a host name matched on any
 * scheme and port, or `*.example.com` for its subdomains.
 */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  let hostname: string;
  try {
    hostname = new URL(origin).hostname.toLowerCase();
  } catch {
    return false;
  }
  return allowed.some((entry) => {
    const rule = entry.toLowerCase();
    if (rule === '*') return true;
    if (rule.includes('://')) return rule.replace(/\/$/, '') === origin.toLowerCase();
    const host = rule.replace(/:\d+$/, '');
    if (host.startsWith('*.')) return hostname.endsWith(host.slice(1)) && hostname.length > host.length - 1;
    return hostname === host;
  });
}

/** The CORS middleware of §7.7, or undefined when ALLOWED_DOMAINS is not set. */
export function corsMiddleware(allowed: readonly string[]): RequestHandler | undefined {
  if (allowed.length === 0) return undefined;
  const handler = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && originAllowed(origin, allowed)),
    methods: ['GET', 'HEAD'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    exposedHeaders: ['Content-Length', 'Content-Range', 'Content-Disposition', 'Accept-Ranges', 'Last-Modified'],
    maxAge: 600,
    optionsSuccessStatus: 204,
  });
  return (request: Request, response: Response, next: NextFunction) => {
    if (!CORS_ROUTES.test(request.path)) return next();
    handler(request, response, next);
  };
}
