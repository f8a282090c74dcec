import 'reflect-metadata';
import { createApp, startApp } from './app.factory.js';
import { ConfigError } from './config/config.error.js';
import { loadConfigFromProcessEnvironment } from './config/process-environment.js';
import type { AppConfig } from './config/app-config.js';
import { JsonLogger } from './logging/json-logger.js';
import { installGracefulShutdown } from './lifecycle/graceful-shutdown.js';

const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;

function loadConfigOrExit(bootLogger: JsonLogger): AppConfig {
  try {
    return loadConfigFromProcessEnvironment();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    bootLogger.error(`invalid configuration: ${error.message}`, 'Config');
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const bootLogger = new JsonLogger('info', (line) => process.stderr.write(`${line}\n`));
  const config = loadConfigOrExit(bootLogger);
  const app = await createApp(config);
  const logger = app.get(JsonLogger);
  process.on('unhandledRejection', (reason) => logger.error(`unhandled rejection: ${String(reason)}`, 'Process'));
  try {
    const listeners = await startApp(app, config);
    installGracefulShutdown(app, listeners.all, logger, DEFAULT_SHUTDOWN_GRACE_MS);
  } catch (error) {
    logger.error(`cannot listen: ${error instanceof Error ? error.message : String(error)}`, 'Main');
    process.exit(1);
  }
  const { listenPort, httpListenPort, tls } = config.server;
  const plain =
    httpListenPort === undefined
      ? ''
      : `, plain HTTP on port ${httpListenPort}${tls ? ' (PXE, boot artifacts, probes and metrics only)' : ''}`;
  logger.log(
    `listening on port ${listenPort}${tls ? ' (HTTPS)' : ''}${plain}; catalog from ${config.catalog.source} with ${config.catalog.entries.length} entries`,
    'Main',
  );
}

void main();
