// Runs the built service (`node dist/main.js`) for a bench: its own data dirs, a one-image catalog, a port, and a
// watcher that follows /health until the cache is ready.
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { MAIN_JS, spawnService, type ServiceProcess } from '../../test/support/service-process.js';
import { catalogFor } from './fixture.js';
import { probe, type TrustedCa } from './http-load.js';
import { killOnExit, sleep } from './lifetime.js';
import { freePort } from './net.js';
import type { BenchTls } from './tls.js';

class ServiceStartError extends Error {
  override name = 'ServiceStartError';
}

export interface BenchService {
  readonly process: ServiceProcess;
  readonly pid: number;
  readonly baseUrl: string;
  readonly dataDir: string;
  /** Set when the service speaks HTTPS: the CA its certificate is verified against. */
  readonly ca: TrustedCa;
  stop(): Promise<void>;
}

export interface BenchServiceOptions {
  readonly workDir: string;
  /** The catalog entry's `url`. */
  readonly isoUrl: string;
  readonly assistedUrl?: string;
  /** Extra environment, e.g. `NODE_OPTIONS` for a profiling run. */
  readonly env?: Readonly<Record<string, string>>;
  /** Serve HTTPS with this certificate (HTTPS_CERT_FILE / HTTPS_KEY_FILE) instead of plain HTTP. */
  readonly tls?: BenchTls;
}

export async function startBenchService(options: BenchServiceOptions): Promise<BenchService> {
  await access(MAIN_JS).catch(() => {
    throw new ServiceStartError(`${MAIN_JS} is missing: run \`npm run build\` first`);
  });
  const dataDir = path.join(options.workDir, 'data');
  const tempDir = path.join(options.workDir, 'tmp');
  await Promise.all([mkdir(dataDir, { recursive: true }), mkdir(tempDir, { recursive: true })]);
  const port = await freePort();
  const { tls } = options;
  const baseUrl = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  const service = spawnService({
    LISTEN_PORT: String(port),
    DATA_DIR: dataDir,
    DATA_TEMP_DIR: tempDir,
    OS_IMAGES: catalogFor(options.isoUrl),
    ASSISTED_SERVICE_URL: options.assistedUrl ?? 'http://127.0.0.1:1',
    IMAGE_SERVICE_BASE_URL: baseUrl,
    LOG_LEVEL: 'info',
    ...(tls !== undefined && { HTTPS_CERT_FILE: tls.certFile, HTTPS_KEY_FILE: tls.keyFile }),
    ...options.env,
  });
  killOnExit(service.child);
  const stop = async (): Promise<void> => {
    if (service.child.exitCode !== null || service.child.signalCode !== null) return;
    service.kill('SIGTERM');
    const timer = setTimeout(() => service.kill('SIGKILL'), 10_000);
    await service.exited;
    clearTimeout(timer);
  };
  return { process: service, pid: service.child.pid ?? 0, baseUrl, dataDir, ca: tls?.caPem, stop };
}

/** The service's log line for a failed sync attempt (its /health body may not say why). */
const FAILED_LINE = /"level":"error".*failed \(attempt \d+\)/;

/**
 * Polls /health every `intervalMs` until it is 200, for at most `timeoutMs`. Fails fast when the process exits
 * or a sync attempt fails: a retry would come only after the service's back-off, beyond a bench's patience.
 */
export async function waitUntilReady(service: BenchService, intervalMs: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (performance.now() > deadline)
      throw new ServiceStartError(`/health not 200 within ${Math.round(timeoutMs / 1000)} s`);
    const { child, stderr, stdout } = service.process;
    if (child.exitCode !== null)
      throw new ServiceStartError(`the service exited with ${child.exitCode}: ${stderr.join('\n')}`);
    const failed = stdout.find((line) => FAILED_LINE.test(line));
    if (failed !== undefined) throw new ServiceStartError(`the image failed to sync: ${failed}`);
    // The bench's own client, not fetch: over HTTPS it must trust the bench's CA.
    const code = await probe(new URL(`${service.baseUrl}/health`), {}, 5000, service.ca).then(
      (answer) => answer.status,
      () => undefined,
    );
    if (code === 200) return;
    await sleep(intervalMs);
  }
}
