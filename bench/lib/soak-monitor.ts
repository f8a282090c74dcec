// Samples the service once a second during the soak: RSS, open file descriptors and CPU time from /proc; event-loop
// lag p99, heap used and external memory from its /metrics; and the idle canary's lag for comparison.
import { readdir, readlink } from 'node:fs/promises';
import http from 'node:http';
import { readCpuSeconds, readMemory } from './proc.js';
import type { LagCanary } from './soak-canary.js';
import type { ByteCounter } from './soak-request.js';

/** What one /metrics scrape said. prom-client resets the lag histogram on every scrape, so the lag figures cover
 * the time since the previous scrape. */
export interface ScrapedFigures {
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  /** How long /metrics took to answer: itself a responsiveness figure under load. */
  readonly scrapeMs: number;
  /** Requests the service counts as in flight, the scrape itself left out. */
  readonly inflight: number;
}

export interface SoakSample {
  /** Seconds since the monitor started. */
  readonly atS: number;
  readonly rssBytes: number;
  readonly fds: number;
  /** The service's user + system CPU time so far. */
  readonly serverCpuS: number;
  /** Body bytes the clients had received so far. */
  readonly clientBytes: number;
  /** The idle canary's worst per-second lag p99 since the previous sample: the machine's share of any lag. */
  readonly canaryLagP99Ms: number | undefined;
  /** From the scrape started with this sample; absent while an earlier scrape was still running, or when it failed. */
  scraped?: ScrapedFigures;
}

const SCRAPE_TIMEOUT_MS = 2000;

export async function countFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => [])).length;
}

/** Descriptors of `pid` open on files under `dir`. */
export async function countFdsUnder(pid: number, dir: string): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(`${dir}/`)).length;
}

/** The figures of a /metrics text, without the scrape time. */
function parseMetrics(metrics: string): Omit<ScrapedFigures, 'scrapeMs'> | undefined {
  const inflight = inflightRequests(metrics);
  const read = (name: string): number | undefined => {
    const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1];
    return value === undefined ? undefined : Number(value);
  };
  const p99 = read('nodejs_eventloop_lag_p99_seconds');
  const max = read('nodejs_eventloop_lag_max_seconds');
  const heapUsedBytes = read('nodejs_heap_size_used_bytes');
  const externalBytes = read('nodejs_external_memory_bytes');
  if (p99 === undefined || max === undefined || heapUsedBytes === undefined || externalBytes === undefined)
    return undefined;
  return { lagP99Ms: p99 * 1000, lagMaxMs: max * 1000, heapUsedBytes, externalBytes, inflight };
}

/** The sum of the in-flight gauge over every method and route group but `metrics` (the scrape asking). */
function inflightRequests(metrics: string): number {
  const lines = metrics.matchAll(/^assisted_image_service_http_requests_inflight\{([^}]*)\} (\S+)$/gm);
  let sum = 0;
  for (const [, labels, value] of lines) if (!/group="metrics"/.test(labels ?? '')) sum += Number(value);
  return sum;
}

export function scrape(metricsUrl: URL): Promise<ScrapedFigures | undefined> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const request = http.get(
      metricsUrl,
      { agent: false, signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => {
          const figures =
            response.statusCode === 200 ? parseMetrics(Buffer.concat(chunks).toString('utf8')) : undefined;
          resolve(figures === undefined ? undefined : { ...figures, scrapeMs: performance.now() - startedAt });
        });
        response.once('error', () => resolve(undefined));
      },
    );
    request.once('error', () => resolve(undefined));
  });
}

/**
 * /proc is read every tick; /metrics is scraped from the same tick unless the previous scrape is still running
 * (under load it can take longer than a tick), so the resource series stays regular whatever /metrics does.
 */
export class SoakMonitor {
  readonly samples: SoakSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private scraping: Promise<void> | undefined;
  private readonly startedAt = performance.now();

  constructor(
    private readonly pid: number,
    private readonly metricsUrl: URL,
    private readonly counter: ByteCounter,
    private readonly intervalMs: number,
    private readonly canary: LagCanary,
  ) {}

  start(): this {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    return this;
  }

  async stop(): Promise<readonly SoakSample[]> {
    clearInterval(this.timer);
    await Promise.all([this.reading, this.scraping]);
    return this.samples;
  }

  private tick(): void {
    if (this.reading !== undefined) return;
    this.reading = this.read()
      .then((sample) => {
        if (sample !== undefined && this.scraping === undefined) this.scraping = this.scrapeInto(sample);
      })
      .finally(() => {
        this.reading = undefined;
      });
  }

  private async read(): Promise<SoakSample | undefined> {
    const atS = (performance.now() - this.startedAt) / 1000;
    const clientBytes = this.counter.bytes;
    const [memory, fds, serverCpuS] = await Promise.all([
      readMemory(this.pid),
      countFds(this.pid),
      readCpuSeconds(this.pid),
    ]);
    if (memory === undefined) return undefined;
    const sample: SoakSample = {
      atS,
      rssBytes: memory.rssBytes,
      fds,
      serverCpuS,
      clientBytes,
      canaryLagP99Ms: this.canary.takeWorstP99Ms(),
    };
    this.samples.push(sample);
    return sample;
  }

  private async scrapeInto(sample: SoakSample): Promise<void> {
    const figures = await scrape(this.metricsUrl);
    if (figures !== undefined) sample.scraped = figures;
    this.scraping = undefined;
  }
}
