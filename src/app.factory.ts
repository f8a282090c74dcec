import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, type AppOptions } from './app.module.js';
import type { LoadedConfig } from './config/config.module.js';
import { FastLane } from './delivery/fast-lane.js';
import { documentHeadRequests } from './images/download-openapi.js';
import { JsonLogger } from './logging/json-logger.js';
import { HttpObserver } from './metrics/metrics.module.js';
import { corsMiddleware, pipelineLimit, securityHeaders } from './server/http-middleware.js';
import { SERVER_TIMEOUTS, ServiceExpressAdapter, listen, type Listeners, type Ports } from './server/listeners.js';
import { readTlsOptions, reloadCertificates } from './server/tls.js';
import { ImageCacheService } from './versions/image-cache.service.js';

/** Builds the application exactly as production runs it; tests call this too. */
export async function createApp(config: LoadedConfig, options: AppOptions = {}): Promise<NestExpressApplication> {
  const tls = config.server.tls;
  const httpsOptions = tls && (await readTlsOptions(tls));
  const adapter = new ServiceExpressAdapter({ ...SERVER_TIMEOUTS, ...options.serverTimeouts });
  // No route takes a request body: parsing one would only cost time on every request.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), adapter, {
    bufferLogs: true,
    bodyParser: false,
    ...(httpsOptions && { httpsOptions }),
  });
  const logger = app.get(JsonLogger);
  app.useLogger(logger);
  if (tls && httpsOptions)
    reloadCertificates(app.getHttpServer() as HttpsServer, tls, httpsOptions, logger, options.tlsReloadIntervalMs);
  app.disable('x-powered-by');
  adapter.front = app.get(FastLane).tryServe;
  // The pipeline limit after the observer, so a request it refuses is still counted and logged.
  const cors = corsMiddleware(config.server.allowedDomains);
  app.use(securityHeaders, app.get(HttpObserver).middleware, pipelineLimit(logger), ...cors);
  const manifest = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const { name, description, version } = JSON.parse(manifest) as Record<string, string>;
  const info = new DocumentBuilder().setTitle(name).setDescription(description).setVersion(version).build();
  const openApi = documentHeadRequests(SwaggerModule.createDocument(app, info));
  SwaggerModule.setup('docs', app, openApi, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
  return app;
}

/** Opens the listeners (ports 0 pick free ones), then starts the cache sync in the background. */
export async function startApp(app: NestExpressApplication, config: LoadedConfig, ports?: Ports): Promise<Listeners> {
  const listeners = await listen(app, config.server, ports);
  void app.get(ImageCacheService).startSync();
  return listeners;
}
