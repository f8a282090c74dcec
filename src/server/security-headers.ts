import type { NextFunction, Request, Response } from 'express';

/**
 * Headers every response carries: downloads are binary and errors are JSON, and neither may be sniffed into
 * something a browser would render or run.
 */
export function securityHeaders(_request: Request, response: Response, next: NextFunction): void {
  response.setHeader('X-Content-Type-Options', 'nosniff');
  next();
}
