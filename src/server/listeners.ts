import { once } from 'node:events';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { errorMessage } from '../common/service-error.js';
import type { ServerConfig } from '../config/app-config.js';
import type { JsonLogger } from '../logging/json-logger.js';
import { answerJsonError, answerProtocolErrorsInJson } from './protocol-errors.js';

/** Both listeners' timeouts in ms; the README ("Slow, stalled and hostile clients") says why these values. */
export const SERVER_TIMEOUTS: ServerOptions = {
  headersTimeout: 20_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 65_000,
  connectionsCheckingInterval: 5_000,
};

/**
 * Nest's Express adapter, giving the main server our timeouts (Node takes the checking interval only at creation) and
 * a front handler that every listener tries before Express.
 */
export class ServiceExpressAdapter extends ExpressAdapter {
  /** Answers a request before Express when it can (the fast lane); false leaves the request untouched to Express. */
  front: (...args: Parameters<RequestListener>) => boolean = () => false;

  constructor(readonly timeouts: ServerOptions) {
    super();
  }

  readonly handler: RequestListener = (request, response) => {
    if (!this.front(request, response)) this.getInstance<RequestListener>()(request, response);
  };

  override initHttpServer(options: NestApplicationOptions): void {
    const https = options.httpsOptions && { ...options.httpsOptions, ...this.timeouts };
    this.setHttpServer(https ? createHttpsServer(https, this.handler) : createHttpServer(this.timeouts, this.handler));
  }
}

/** Next to HTTPS, the plain listener serves what PXE firmware (often without TLS) needs, and the probes. */
const PLAIN_ROUTE = /^\/(images\/[^/]+\/pxe-initrd|boot-artifacts\/[^/]+|health|live|metrics)\/?$/i;

/** Matched as Express matches routes (any case, optional trailing slash), so the gate and the router agree. */
export function isServedOnPlainHttp(url: string | undefined): boolean {
  return PLAIN_ROUTE.test((url ?? '/').split('?')[0] ?? '/');
}

/** `main` on LISTEN_PORT (HTTPS when TLS is configured), `plain` on HTTP_LISTEN_PORT: one application. */
export type Listeners = { readonly main: Server; readonly plain?: Server; readonly all: readonly Server[] };

/** Ports that override the configured ones: 0 picks a free port, as tests do. */
export type Ports = { readonly main?: number; readonly plain?: number };

export async function listen(app: NestExpressApplication, server: ServerConfig, ports?: Ports): Promise<Listeners> {
  const main = app.getHttpServer() as Server;
  // Before listening, so no request meets Node's bare error answers.
  answerProtocolErrorsInJson(main);
  await app.listen(ports?.main ?? server.listenPort);
  const plainPort = ports?.plain ?? server.httpListenPort;
  if (plainPort === undefined) return { main, all: [main] };
  const { handler, timeouts } = app.getHttpAdapter() as ServiceExpressAdapter;
  const plain = createHttpServer(timeouts, (request, response) => {
    if (!server.tls || isServedOnPlainHttp(request.url)) handler(request, response);
    else answerJsonError(response, 404, 'not served over plain HTTP: use the HTTPS listener');
  });
  answerProtocolErrorsInJson(plain);
  await once(plain.listen(plainPort), 'listening');
  return { main, plain, all: [main, plain] };
}

const SHUTDOWN_GRACE_MS = 25_000;

/** On SIGTERM or SIGINT: no new connections, in-flight responses get 25 s, then exit 0. Twice: at once. */
export function installGracefulShutdown(app: INestApplication, servers: readonly Server[], logger: JsonLogger): void {
  let closing = false;
  const onSignal = async (signal: NodeJS.Signals): Promise<void> => {
    if (closing) {
      logger.warn(`${signal} again: exiting now`, 'Shutdown');
      process.exit(1);
    }
    closing = true;
    const seconds = Math.round(SHUTDOWN_GRACE_MS / 1000);
    logger.log(`${signal}: no new connections; in-flight responses have up to ${seconds} s to finish`, 'Shutdown');
    try {
      // In-flight responses are awaited here, so Nest's own close finds nothing left to wait for.
      const drained = Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
      // close() ends the connections idle at that moment; the others would stay for the keep-alive timeout.
      const closeIdle = (): void => servers.forEach((server) => server.closeIdleConnections());
      closeIdle();
      const idleSweep = setInterval(closeIdle, 250).unref();
      const deadline = setTimeout(() => {
        logger.warn('grace period over: closing the remaining connections', 'Shutdown');
        servers.forEach((server) => server.closeAllConnections());
      }, SHUTDOWN_GRACE_MS).unref();
      await drained;
      clearInterval(idleSweep);
      clearTimeout(deadline);
      await app.close();
      logger.log('stopped', 'Shutdown');
    } catch (error) {
      logger.error(`shutdown failed: ${errorMessage(error)}`, 'Shutdown');
      process.exit(1);
    }
    process.exit(0);
  };
  for (const name of ['SIGTERM', 'SIGINT'] as const) process.on(name, (signal) => void onSignal(signal));
}
