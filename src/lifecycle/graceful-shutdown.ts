import type { Server } from 'node:http';
import type { INestApplication, LoggerService } from '@nestjs/common';

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight responses finish for up to `graceMs`, then
 * cut what is left, run the shutdown hooks and exit 0. A second signal exits at once.
 */
export function installGracefulShutdown(app: INestApplication, servers: readonly Server[], logger: LoggerService, graceMs: number): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      logger.warn(`${signal} again: exiting now`, 'Shutdown');
      process.exit(1);
    }
    closing = true;
    logger.log(`${signal}: no new connections; in-flight responses have up to ${Math.round(graceMs / 1000)} s to finish`, 'Shutdown');
    void shutDown(app, servers, logger, graceMs).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`, 'Shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function shutDown(app: INestApplication, servers: readonly Server[], logger: LoggerService, graceMs: number): Promise<void> {
  // Stop accepting before Nest's own hooks run, and wait for in-flight responses here: by the time Nest closes
  // its server it has nothing left to wait for.
  const drained = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  for (const server of servers) server.closeIdleConnections();
  const deadline = setTimeout(() => {
    logger.warn('grace period over: closing the remaining connections', 'Shutdown');
    for (const server of servers) server.closeAllConnections();
  }, graceMs);
  deadline.unref();
  await drained;
  clearTimeout(deadline);
  await app.close();
  logger.log('stopped', 'Shutdown');
}
