import type { Server } from 'node:http';
import type { INestApplication, LoggerService } from '@nestjs/common';

/** How often connections that finished their last response are closed while shutting down. */
const IDLE_SWEEP_MS = 250;

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight responses finish for up to `graceMs`, then
 * cut what is left, run the shutdown hooks and exit 0. A second signal exits at once.
 */
export function installGracefulShutdown(
  app: INestApplication,
  servers: readonly Server[],
  logger: LoggerService,
  graceMs: number,
): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      logger.warn(`${signal} again: exiting now`, 'Shutdown');
      process.exit(1);
    }
    closing = true;
    logger.log(
      `${signal}: no new connections; in-flight responses have up to ${Math.round(graceMs / 1000)} s to finish`,
      'Shutdown',
    );
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

async function shutDown(
  app: INestApplication,
  servers: readonly Server[],
  logger: LoggerService,
  graceMs: number,
): Promise<void> {
  // Stop accepting before Nest's own hooks run, and wait for in-flight responses here: by the time Nest closes
  // its server it has nothing left to wait for.
  const drained = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  // Node closes only the connections idle at close(); one whose response finishes later stays open for the
  // keep-alive timeout (65 s, longer than the grace period), so they are closed as they turn idle.
  const closeIdle = (): void => {
    for (const server of servers) server.closeIdleConnections();
  };
  closeIdle();
  const idleSweep = setInterval(closeIdle, IDLE_SWEEP_MS).unref();
  const deadline = setTimeout(() => {
    logger.warn('grace period over: closing the remaining connections', 'Shutdown');
    for (const server of servers) server.closeAllConnections();
  }, graceMs);
  deadline.unref();
  await drained;
  clearInterval(idleSweep);
  clearTimeout(deadline);
  await app.close();
  logger.log('stopped', 'Shutdown');
}
