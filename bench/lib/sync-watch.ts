// Follows one cache sync of the service: when it listened, when the download started and ended (from its log
// lines, as /health does not say), when /health turned 200, and its resident memory throughout.
import { readMemory } from './proc.js';
import { RssSampler } from './sampler.js';
import { waitUntilReady, type BenchService } from './service.js';

export interface SyncMeasurement {
  /** From spawning to the service's "listening on port" log line. */
  readonly listeningAfterS: number;
  /** From the "downloading … from" log line to the ": downloaded" one: fetch (and sha256 when the catalog gives one) and write to DATA_DIR. */
  readonly downloadS: number;
  /** What the service itself logged for the download, e.g. "downloaded 1027.0 MiB in 2.1 s (512.3 MB/s)". */
  readonly serviceReport: string;
  /** From listening until /health answered 200 (polled every 100 ms). */
  readonly untilReadyS: number;
  readonly rssAtListenBytes: number;
  readonly rssAtReadyBytes: number;
  readonly peakSampledRssBytes: number;
  /** The kernel's own high-water mark for the process's whole life. */
  readonly hwmBytes: number;
  readonly samples: number;
  /** The minimal ISO template build, as the service logged it. */
  readonly templateS: number;
}

const LISTENING_LINE = /"msg":"listening on port /;
const STARTED_LINE = /"msg":"downloading \S+ from /;
const DOWNLOADED_LINE = /"msg":"[^"]*: downloaded [^"]*"/;
const TEMPLATE_LINE = /"msg":"[^"]*: minimal ISO template built in ([\d.]+) s"/;

/** Call right after spawning: times count from `spawnedAt` (performance.now()). */
export async function watchSync(service: BenchService, spawnedAt: number, timeoutMs: number): Promise<SyncMeasurement> {
  const sampler = new RssSampler(async () => [service.pid], 100).start();
  const since = (): number => (performance.now() - spawnedAt) / 1000;
  const marks: {
    listening?: number;
    rssAtListen?: number;
    started?: number;
    downloaded?: number;
    report?: string;
    templateS?: number;
  } = {};
  const follow = (pattern: RegExp, onLine: (line: string) => void): void =>
    void service.process.waitForLine(pattern, timeoutMs).then(onLine, () => undefined);
  follow(LISTENING_LINE, () => {
    marks.listening = since();
    marks.rssAtListen = sampler.latest()?.rssBytes;
  });
  follow(STARTED_LINE, () => (marks.started = since()));
  follow(TEMPLATE_LINE, (line) => (marks.templateS = Number(TEMPLATE_LINE.exec(line)?.[1])));
  follow(DOWNLOADED_LINE, (line) => {
    marks.downloaded = since();
    marks.report = /: (downloaded [^"]*)"/.exec(line)?.[1];
  });
  try {
    await waitUntilReady(service, 100, timeoutMs);
  } finally {
    await sampler.stop();
  }
  const ready = since();
  const memory = await readMemory(service.pid);
  const summary = sampler.summary();
  const listening = marks.listening ?? ready;
  return {
    listeningAfterS: listening,
    downloadS: (marks.downloaded ?? Number.NaN) - (marks.started ?? Number.NaN),
    serviceReport: marks.report ?? 'no "downloaded" log line',
    templateS: marks.templateS ?? Number.NaN,
    untilReadyS: ready - listening,
    rssAtListenBytes: marks.rssAtListen ?? summary.firstBytes,
    rssAtReadyBytes: memory?.rssBytes ?? summary.lastBytes,
    peakSampledRssBytes: summary.peakBytes,
    hwmBytes: memory?.hwmBytes ?? 0,
    samples: summary.samples,
  };
}
