import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp, startApp } from '../../src/app.factory.js';
import type { AppOptions } from '../../src/app.module.js';
import { loadConfig, type Environment } from '../../src/config/load-config.js';
import type { AppConfig } from '../../src/config/app-config.js';

export interface TestApp {
  readonly app: NestExpressApplication;
  readonly config: AppConfig;
  readonly server: Server;
  readonly baseUrl: string;
  /** Every JSON log line the app wrote. */
  readonly logs: string[];
  close(): Promise<void>;
}

/** Fast retries and short stalls so failure paths finish within a test. */
export const TEST_SYNC_OPTIONS: NonNullable<AppOptions['syncOptions']> = {
  retryBaseMs: 60_000,
  idleTimeoutMs: 2_000,
  progressLogIntervalMs: 100,
};

/** The real application, configured from `env` exactly as in production, listening on a free loopback port. */
export async function startTestApp(env: Environment, options: AppOptions = {}): Promise<TestApp> {
  const logs: string[] = [];
  const config = loadConfig({ LOG_LEVEL: 'debug', ...env });
  const app = await createApp(config, {
    logWriter: (line) => logs.push(line),
    ...options,
    syncOptions: { ...TEST_SYNC_OPTIONS, ...options.syncOptions },
  });
  const server = await startApp(app, config, 0);
  const { port } = server.address() as AddressInfo;
  const scheme = config.server.tls ? 'https' : 'http';
  const close = async (): Promise<void> => {
    // Downloads a failed test left open must not hold the close up.
    server.closeAllConnections();
    await app.close();
  };
  return { app, config, server, baseUrl: `${scheme}://127.0.0.1:${port}`, logs, close };
}

/** Polls `probe` until it returns a value other than undefined. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
