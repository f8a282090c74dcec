import 'reflect-metadata';
import { createApp, startApp } from './app.factory.js';
import { errorMessage } from './common/service-error.js';
import { loadConfig } from './config/config.module.js';
import { ConfigError } from './config/environment.js';
import { JsonLogger } from './logging/json-logger.js';
import { installGracefulShutdown } from './server/listeners.js';

/** A bad variable ends the process, before Nest starts, with one JSON line on stderr naming it. */
function exitOnConfigError(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  const stderr = new JsonLogger('info', (line) => process.stderr.write(`${line}\n`));
  stderr.error(`invalid configuration: ${error.message}`, 'Config');
  process.exit(1);
}

async function main(): Promise<void> {
  const config = await loadConfig().catch(exitOnConfigError);
  const app = await createApp(config);
  const logger = app.get(JsonLogger);
  process.on('unhandledRejection', (reason) => logger.error(`unhandled rejection: ${String(reason)}`, 'Process'));
  try {
    const listeners = await startApp(app, config);
    installGracefulShutdown(app, listeners.all, logger);
  } catch (error) {
    logger.error(`cannot listen: ${errorMessage(error)}`, 'Main');
    process.exit(1);
  }
  const { server, catalog } = config;
  const plainOnly = server.tls ? ' (PXE, boot artifacts, probes and metrics only)' : '';
  const plain = server.httpListenPort === undefined ? '' : `, plain HTTP on port ${server.httpListenPort}${plainOnly}`;
  const source = `catalog from ${catalog.source} with ${catalog.entries.length} entries`;
  logger.log(`listening on port ${server.listenPort}${server.tls ? ' (HTTPS)' : ''}${plain}; ${source}`, 'Main');
}

void main();
