import type { RequestListener, Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ServerConfig } from '../config/app-config.js';
import { ServiceExpressAdapter } from './http-servers.js';
import { plainHttpGate } from './plain-http-gate.js';
import { answerProtocolErrorsInJson } from './protocol-errors.js';

export interface Listeners {
  /** LISTEN_PORT: HTTPS when TLS is configured, else HTTP; serves every route. */
  readonly main: Server;
  /** HTTP_LISTEN_PORT: plain HTTP; only the routes of §7.6 when the main listener is HTTPS. */
  readonly plain?: Server;
  readonly all: readonly Server[];
}

/**
 * Opens the listeners of reference §7.6 on one application: Nest owns the main server, the extra plain-HTTP
 * listener hands requests to the same Express instance. `ports` overrides the configured ports (0 picks a free
 * one, as tests do).
 */
export async function listen(
  app: NestExpressApplication,
  server: ServerConfig,
  ports: { main?: number; plain?: number } = {},
): Promise<Listeners> {
  const main = app.getHttpServer() as Server;
  // Before listening, so no request can meet Node's bare defaults.
  answerProtocolErrorsInJson(main);
  await app.listen(ports.main ?? server.listenPort);
  const plainPort = ports.plain ?? server.httpListenPort;
  if (plainPort === undefined) return { main, all: [main] };
  const adapter = app.getHttpAdapter();
  if (!(adapter instanceof ServiceExpressAdapter))
    throw new Error('the application must be created with the ServiceExpressAdapter (app.factory.ts)');
  const handler: RequestListener = adapter.getInstance();
  // The same timeouts as the main server (the adapter makes both), so clients are treated alike on both.
  const plain = adapter.createPlainServer(server.tls ? plainHttpGate(handler) : handler);
  answerProtocolErrorsInJson(plain);
  await new Promise<void>((resolve, reject) => {
    plain.once('error', reject);
    plain.listen(plainPort, () => {
      plain.off('error', reject);
      resolve();
    });
  });
  return { main, plain, all: [main, plain] };
}
