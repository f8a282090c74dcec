import 'reflect-metadata';
import type { Server as HttpsServer } from 'node:https';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule, type AppOptions } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { JsonLogger } from './logging/json-logger.js';
import { HttpObserver } from './metrics/http-observer.js';
import { setupOpenApi } from './openapi/openapi.js';
import { corsMiddleware } from './server/cors.js';
import { SERVER_TIMEOUTS, ServiceExpressAdapter } from './server/http-servers.js';
import { listen, type Listeners } from './server/listeners.js';
import { pipelineLimit } from './server/pipeline-limit.js';
import { securityHeaders } from './server/security-headers.js';
import { CertificateReloader, DEFAULT_TLS_RELOAD_INTERVAL_MS, readTlsPair, tlsOptions } from './server/tls-reload.js';
import { ImageCacheService } from './versions/image-cache.service.js';

/** Builds the application exactly as production runs it; tests call this too. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<NestExpressApplication> {
  const tls = config.server.tls;
  const pair = tls && readTlsPair(tls);
  const adapter = new ServiceExpressAdapter({ ...SERVER_TIMEOUTS, ...options.serverTimeouts });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), adapter, {
    bufferLogs: true,
    // No route takes a request body: parsing one would only cost time on every request.
    bodyParser: false,
    ...(pair && { httpsOptions: tlsOptions(pair) }),
  });
  const logger = app.get(JsonLogger);
  app.useLogger(logger);
  if (tls && pair) {
    new CertificateReloader(app.getHttpServer() as HttpsServer, tls, pair, logger).start(
      options.tlsReloadIntervalMs ?? DEFAULT_TLS_RELOAD_INTERVAL_MS,
    );
  }
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.use(app.get(HttpObserver).middleware);
  // After the observer, so a request refused here is still counted and logged when its connection closes.
  app.use(pipelineLimit(logger));
  const cors = corsMiddleware(config.server.allowedDomains);
  if (cors) app.use(cors);
  setupOpenApi(app);
  return app;
}

/** Opens the listeners (ports 0 in tests pick free ones), then starts the cache sync in the background. */
export async function startApp(
  app: NestExpressApplication,
  config: AppConfig,
  ports: { main?: number; plain?: number } = {},
): Promise<Listeners> {
  const listeners = await listen(app, config.server, ports);
  void app.get(ImageCacheService).startSync();
  return listeners;
}
