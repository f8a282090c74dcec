import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';

/** How long the HTTP servers wait for clients, in milliseconds. */
export interface ServerTimeouts {
  /** From a request's first byte (or the connection's start) to the end of its headers. */
  readonly headersMs: number;
  /** From a request's first byte to the end of its body; the response may take longer. */
  readonly requestMs: number;
  /** How long a connection may sit idle between a finished response and the next request. */
  readonly keepAliveMs: number;
  /** How often Node checks the headers and request deadlines (they are enforced only then). */
  readonly checkIntervalMs: number;
}

/**
 * The values both listeners use, chosen rather than inherited from Node:
 * - headers 20 s (Node: 60 s). Clients send their few hundred bytes of headers in one packet. The deadline is for
 *   the whole header however the bytes trickle in, so a slow-header (slowloris) client holds each connection for
 *   20–25 s, not a minute, and must open three times as many to hold as many. A slow BMC network still has ample
 *   time. A connection that sends nothing at all meets the same deadline.
 * - request 30 s (Node: 5 min). No route takes a body, so a request is complete when its headers are; this only
 *   bounds a client trickling a body nobody asked for. It never limits how long a response (a download) takes.
 * - keep-alive 65 s (Node: 5 s). BMC virtual-media clients read an ISO as Range requests with pauses in between
 *   while the host works; closing their idle connection races with their next request (a reset some BMCs do not
 *   retry) and costs a new TLS handshake. 65 s is also longer than the 60 s idle timeout of common load balancers
 *   and proxies (AWS ALB, ingress-nginx upstream keep-alive), so they, not the service, close idle connections and
 *   never send a request on one being closed. An idle connection costs a descriptor and a few KiB.
 * - checked every 5 s (Node: 30 s), so the headers deadline means 20–25 s, not up to 50 s.
 */
export const SERVER_TIMEOUTS: ServerTimeouts = {
  headersMs: 20_000,
  requestMs: 30_000,
  keepAliveMs: 65_000,
  checkIntervalMs: 5_000,
};

function serverOptions(timeouts: ServerTimeouts): ServerOptions {
  return {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Only an option at creation: Node starts the checking timer in the constructor.
    connectionsCheckingInterval: timeouts.checkIntervalMs,
  };
}

/**
 * Nest's Express adapter, creating both listeners' servers with the service's timeouts: the main one (HTTPS when
 * Nest is given `httpsOptions`) and the extra plain-HTTP one. Nest's own `initHttpServer` passes no server options,
 * and the checking interval cannot be changed after creation. Nest's `forceCloseConnections` and
 * `return503OnClosing` are not supported: the service shuts down by itself (lifecycle/graceful-shutdown.ts).
 */
export class ServiceExpressAdapter extends ExpressAdapter {
  constructor(private readonly timeouts: ServerTimeouts) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    const handler = this.getInstance<RequestListener>();
    const server = options.httpsOptions
      ? createHttpsServer({ ...options.httpsOptions, ...serverOptions(this.timeouts) }, handler)
      : createHttpServer(serverOptions(this.timeouts), handler);
    this.setHttpServer(server);
  }

  /** A plain-HTTP server with the same timeouts as the main one, for the extra listener. */
  createPlainServer(handler: RequestListener): Server {
    return createHttpServer(serverOptions(this.timeouts), handler);
  }
}
