import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp, startApp } from '../../src/app.factory.js';
import type { AppOptions } from '../../src/app.module.js';
import { loadConfig, type AppConfig, type Environment } from '../../src/config/config.module.js';

export interface TestApp {
  readonly app: NestExpressApplication;
  readonly config: AppConfig;
  readonly server: Server;
  readonly baseUrl: string;
  /** The extra plain-HTTP listener, when HTTP_LISTEN_PORT is set. */
  readonly plainUrl?: string;
  /** Every JSON log line the app wrote. */
  readonly logs: string[];
  close(): Promise<void>;
}

/** Fast retries and short stalls so failure paths finish within a test. */
const TEST_SYNC_OPTIONS: NonNullable<AppOptions['syncOptions']> = {
  retryBaseMs: 60_000,
  idleTimeoutMs: 2_000,
  progressLogIntervalMs: 100,
};

/**
 * The real application, configured from `env` exactly as in production (process.env is neither read nor written),
 * listening on a free loopback port.
 */
export async function startTestApp(env: Environment, options: AppOptions = {}): Promise<TestApp> {
  const logs: string[] = [];
  const config = await loadConfig({ LOG_LEVEL: 'debug', ...env });
  const app = await createApp(config, {
    logWriter: (line) => logs.push(line),
    ...options,
    syncOptions: { ...TEST_SYNC_OPTIONS, ...options.syncOptions },
  });
  // Port 0 picks free ports; the extra plain listener opens only when the configuration asks for one.
  const listeners = await startApp(app, config, {
    main: 0,
    ...(config.server.httpListenPort !== undefined && { plain: 0 }),
  });
  const server = listeners.main;
  const { port } = server.address() as AddressInfo;
  const scheme = config.server.tls ? 'https' : 'http';
  const plainUrl = listeners.plain && `http://127.0.0.1:${(listeners.plain.address() as AddressInfo).port}`;
  const close = async (): Promise<void> => {
    // Downloads a failed test left open must not hold the close up.
    for (const listener of listeners.all) listener.closeAllConnections();
    if (listeners.plain) await new Promise<void>((resolve) => listeners.plain?.close(() => resolve()));
    await app.close();
  };
  return { app, config, server, baseUrl: `${scheme}://127.0.0.1:${port}`, ...(plainUrl && { plainUrl }), logs, close };
}

/** Polls `probe` until it returns a value other than undefined. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
