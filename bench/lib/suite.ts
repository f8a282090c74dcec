// The measurements run against each target (baseline and service): full downloads at several concurrencies
// with the server's RSS and CPU, time to first byte, and 64 KiB Range requests with wrk.
import { downloadConcurrently, download, type ConcurrentRun, type TrustedCa } from './http-load.js';
import { sleep } from './lifetime.js';
import { totalCpuSeconds, type PidSource } from './proc.js';
import { RssSampler } from './sampler.js';
import { GB, MB, percentile } from './table.js';
import { runWrkRange, type WrkRangeResult } from './wrk-range.js';

export interface SuiteTarget {
  readonly label: string;
  readonly url: URL;
  readonly pids: PidSource;
  /** For an https URL: the CA its certificate is verified against (wrk does not verify). */
  readonly ca?: TrustedCa;
}

export interface SuiteConfig {
  /** Concurrencies of full downloads, e.g. [1, 16, 64]. */
  readonly levels: readonly number[];
  readonly singleStreamRuns: number;
  readonly fileSize: number;
  /** Longest a download phase may run; downloads still going are then cut (see downloadConcurrently). */
  readonly phaseCapMs: number;
  readonly wrkSeconds: number;
  readonly wrkConnections: number;
  readonly wrkThreads: number;
  readonly workDir: string;
}

export interface PhaseResult {
  readonly concurrency: number;
  readonly bytes: number;
  readonly wallSeconds: number;
  readonly aggregateMBps: number;
  readonly peakRssMB: number;
  readonly serverCpuSeconds: number;
  readonly cpuSecondsPerGB: number;
  /** Client (this process) CPU in cores during the phase: near 1.0 means the client may be the bottleneck. */
  readonly clientCores: number;
  readonly ttfbP50Ms: number;
  readonly ttfbP99Ms: number;
  /** Downloads cut by the phase's time cap (their bytes still count). */
  readonly cut: number;
  readonly failures: readonly string[];
}

export interface SuiteResult {
  readonly label: string;
  readonly singleStreamMBps: number;
  readonly phases: readonly PhaseResult[];
  /** Server CPU over all full-download phases together. */
  readonly cpuSecondsPerGB: number;
  readonly range: WrkRangeResult | { readonly error: string };
}

/** Median speed of `runs` sequential single downloads, after one untimed download that warms the page cache
 * and the server's code paths. The median tames a noisy machine better than one run. */
async function singleStream(target: SuiteTarget, runs: number, capMs: number): Promise<number> {
  await download(target.url, AbortSignal.timeout(capMs), { ca: target.ca });
  const speeds: number[] = [];
  for (let run = 0; run < runs; run++) {
    const result = await download(target.url, AbortSignal.timeout(capMs), { ca: target.ca });
    speeds.push(result.bytes / MB / ((result.endedAtMs - result.startedAtMs) / 1000));
  }
  return percentile(speeds, 0.5);
}

export async function runSuite(
  target: SuiteTarget,
  config: SuiteConfig,
  log: (line: string) => void,
): Promise<SuiteResult> {
  const singleStreamMBps = await singleStream(target, config.singleStreamRuns, config.phaseCapMs);
  log(`  ${target.label}: single stream, median of ${config.singleStreamRuns}: ${singleStreamMBps.toFixed(0)} MB/s`);
  const phases: PhaseResult[] = [];
  for (const concurrency of config.levels) {
    const phase = await runPhase(target, concurrency, config.phaseCapMs);
    log(
      `  ${target.label}: ${concurrency} concurrent: ${phase.aggregateMBps.toFixed(0)} MB/s, peak RSS ${phase.peakRssMB.toFixed(1)} MB, ` +
        `${phase.cpuSecondsPerGB.toFixed(3)} CPU s/GB, client ${phase.clientCores.toFixed(2)} cores` +
        (phase.cut > 0 ? `, ${phase.cut} cut at the ${config.phaseCapMs / 1000} s cap` : '') +
        (phase.failures.length > 0 ? `, ${phase.failures.length} failed: ${phase.failures[0]}` : ''),
    );
    phases.push(phase);
    await sleep(500);
  }
  const range = await runWrkRange({
    url: target.url,
    fileSize: config.fileSize,
    workDir: config.workDir,
    seconds: config.wrkSeconds,
    connections: config.wrkConnections,
    threads: config.wrkThreads,
  }).catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }));
  log(
    `  ${target.label}: range: ${'error' in range ? range.error : `${range.requestsPerSecond.toFixed(0)} req/s, ${range.wrong} not 206/64 KiB, ${range.socketErrors} socket errors`}`,
  );
  const cpu = phases.reduce((sum, phase) => sum + phase.serverCpuSeconds, 0);
  const bytes = phases.reduce((sum, phase) => sum + phase.bytes, 0);
  return { label: target.label, singleStreamMBps, phases, cpuSecondsPerGB: cpu / (bytes / GB), range };
}

async function runPhase(target: SuiteTarget, concurrency: number, capMs: number): Promise<PhaseResult> {
  const sampler = new RssSampler(target.pids).start();
  const cpuBefore = await totalCpuSeconds(target.pids);
  const run = await downloadConcurrently(target.url, concurrency, capMs, target.ca);
  const cpuAfter = await totalCpuSeconds(target.pids);
  const rss = await sampler.stop();
  const serverCpuSeconds = cpuAfter - cpuBefore;
  return {
    concurrency,
    bytes: run.bytes,
    wallSeconds: run.wallSeconds,
    aggregateMBps: run.bytes / MB / run.wallSeconds,
    peakRssMB: rss.peakBytes / MB,
    serverCpuSeconds,
    cpuSecondsPerGB: serverCpuSeconds / (run.bytes / GB),
    clientCores: run.clientCores,
    ...ttfb(run),
    cut: run.cut,
    failures: run.failures,
  };
}

function ttfb(run: ConcurrentRun): { ttfbP50Ms: number; ttfbP99Ms: number } {
  const values = run.results.map((result) => result.ttfbMs).filter(Number.isFinite);
  return { ttfbP50Ms: percentile(values, 0.5), ttfbP99Ms: percentile(values, 0.99) };
}
