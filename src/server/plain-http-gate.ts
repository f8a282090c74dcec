import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/**
 * Routes the plain-HTTP listener serves next to a TLS one (reference §7.6): PXE firmware often cannot do TLS, so
 * the PXE initrd and boot artifacts are reachable without it, with the probes and metrics. Matched like Express
 * matches routes (case-insensitive, optional trailing slash) so the gate and the router agree.
 */
const PLAIN_ROUTES: readonly RegExp[] = [
  /^\/images\/[^/]+\/pxe-initrd\/?$/i,
  /^\/boot-artifacts\/[^/]+\/?$/i,
  /^\/(health|live|metrics)\/?$/i,
];

export function isServedOnPlainHttp(url: string | undefined): boolean {
  const path = (url ?? '/').split('?')[0] ?? '/';
  return PLAIN_ROUTES.some((route) => route.test(path));
}

/** Wraps the application's handler: other routes get a JSON 404 that says where they are served. */
export function plainHttpGate(handler: RequestListener): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    if (isServedOnPlainHttp(request.url)) return handler(request, response);
    const body = JSON.stringify({
      statusCode: 404,
      error: 'Not Found',
      message: 'not served over plain HTTP: use the HTTPS listener',
    });
    response.writeHead(404, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'X-Content-Type-Options': 'nosniff',
    });
    response.end(body);
  };
}
