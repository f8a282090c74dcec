import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule, type AppOptions } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { JsonLogger } from './logging/json-logger.js';
import { HttpObserver } from './metrics/http-observer.js';
import { setupOpenApi } from './openapi/openapi.js';
import { corsMiddleware } from './server/cors.js';
import { listen, type Listeners } from './server/listeners.js';
import { securityHeaders } from './server/security-headers.js';
import { ImageCacheService } from './versions/image-cache.service.js';

/** Builds the application exactly as production runs it; tests call this too. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<NestExpressApplication> {
  const tls = config.server.tls;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bufferLogs: true,
    // No route takes a request body: parsing one would only cost time on every request.
    bodyParser: false,
    ...(tls && { httpsOptions: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } }),
  });
  app.useLogger(app.get(JsonLogger));
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.use(app.get(HttpObserver).middleware);
  const cors = corsMiddleware(config.server.allowedDomains);
  if (cors) app.use(cors);
  setupOpenApi(app);
  return app;
}

/** Opens the listeners (ports 0 in tests pick free ones), then starts the cache sync in the background. */
export async function startApp(app: NestExpressApplication, config: AppConfig, ports: { main?: number; plain?: number } = {}): Promise<Listeners> {
  const listeners = await listen(app, config.server, ports);
  void app.get(ImageCacheService).startSync();
  return listeners;
}
