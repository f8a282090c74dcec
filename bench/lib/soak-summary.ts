// Turns the soak's raw figures (request tallies, per-second samples, idle snapshots) into the summary that is
// printed and written to soak.json.
import type { LoadResult } from './soak-load.js';
import type { SoakSample } from './soak-monitor.js';
import type { RequestKind } from './soak-roles.js';
import { seriesOf, seriesRows, seriesStats, type SeriesRow, type SeriesStats } from './soak-series.js';
import { median } from './soak-stats.js';
import type { HostileCounts, HostileRole, HostileTally } from './soak-hostile.js';
import type { ErrorGroup, KindCounts } from './soak-tally.js';
import { MB, percentile } from './table.js';

/** Below these a second-half trend does not count as growth even when it is above noise. */
export const RSS_GROWTH_FLOOR_MB_PER_MIN = 5;
export const FD_GROWTH_FLOOR_PER_MIN = 5;
export const LAG_P99_TARGET_MS = 50;
/** The service may open a few descriptors lazily on first use (the base file, a log stream): not a leak. */
export const IDLE_FD_SLACK = 3;

export interface IdleSnapshot {
  readonly rssBytes: number;
  /** Every descriptor the service holds, `imageFds` included. */
  readonly fds: number;
  /** Descriptors on files in DATA_DIR: the service shares one per image file and closes it after 60 s idle. */
  readonly imageFds: number;
}

interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface SoakSummary {
  readonly requests: Partial<Record<RequestKind, KindCounts>>;
  /** Of the requests that ended ok, from sending to the last byte. */
  readonly okLatency: Partial<Record<RequestKind, Latency>>;
  readonly totals: KindCounts;
  readonly unexpectedErrors: number;
  readonly errors: readonly ErrorGroup[];
  readonly bytesServed: number;
  readonly averageMBps: number;
  readonly clientCores: number;
  readonly serverCores: number;
  readonly rssMB: SeriesStats;
  readonly fds: SeriesStats;
  /** From /metrics, to tell a growing RSS apart: the JS heap, or buffers outside it. */
  readonly heapUsedMB: SeriesStats;
  readonly externalMB: SeriesStats;
  readonly idleBefore: IdleSnapshot;
  /** Undefined when the service was gone by then. */
  readonly idleAfter: IdleSnapshot | undefined;
  readonly lagP99Ms: {
    readonly max: number;
    readonly median: number;
    readonly samples: number;
    readonly missedScrapes: number;
    /** How long /metrics took to answer, median and worst. */
    readonly scrapeMedianMs: number;
    readonly scrapeMaxMs: number;
    /** The idle service's figure before the load: the floor of the measurement (about the 10 ms sampling resolution). */
    readonly idle: number | undefined;
    /** The idle canary process's figures over the load: what the machine's contention alone causes. */
    readonly canaryMax: number;
    readonly canaryMedian: number;
  };
  readonly series: readonly SeriesRow[];
  readonly hostile: HostileSummary;
  /** The in-flight gauge once the clients had gone; undefined when it could not be scraped. */
  readonly inflightAfter: number | undefined;
}

interface HostileSummary {
  readonly clients: number;
  readonly roles: Partial<Record<HostileRole, HostileCounts>>;
  readonly findings: number;
  readonly findingRows: readonly {
    readonly finding: string;
    readonly role: HostileRole;
    readonly count: number;
    readonly detail: string;
  }[];
  /** How long the service let a slowloris connection live, median and worst, in seconds. */
  readonly slowlorisHeldS: { readonly median: number; readonly max: number; readonly count: number };
}

export interface SummaryInput {
  readonly load: LoadResult;
  readonly samples: readonly SoakSample[];
  readonly idleBefore: IdleSnapshot;
  readonly idleAfter: IdleSnapshot | undefined;
  readonly idleLagP99Ms: number | undefined;
  readonly seriesEverySeconds: number;
  readonly hostile: HostileTally;
  readonly hostileClients: number;
  readonly inflightAfter: number | undefined;
}

function hostileFigures(tally: HostileTally, clients: number): HostileSummary {
  const held = tally.slowlorisHeldS;
  return {
    clients,
    roles: Object.fromEntries(tally.roles),
    findings: tally.findingCount(),
    findingRows: [...tally.findings].map(([finding, { count, role, detail }]) => ({ finding, role, count, detail })),
    slowlorisHeldS: {
      median: median(held),
      max: held.length === 0 ? Number.NaN : Math.max(...held),
      count: held.length,
    },
  };
}

function lagFigures(samples: readonly SoakSample[], idle: number | undefined): SoakSummary['lagP99Ms'] {
  const scraped = samples.flatMap((sample) => (sample.scraped === undefined ? [] : [sample.scraped]));
  const lags = scraped.map((figures) => figures.lagP99Ms);
  const scrapeMs = scraped.map((figures) => figures.scrapeMs);
  const canary = samples.flatMap((sample) => (sample.canaryLagP99Ms === undefined ? [] : [sample.canaryLagP99Ms]));
  return {
    max: lags.length === 0 ? Number.NaN : Math.max(...lags),
    median: median(lags),
    samples: lags.length,
    missedScrapes: samples.length - lags.length,
    scrapeMedianMs: median(scrapeMs),
    scrapeMaxMs: scrapeMs.length === 0 ? Number.NaN : Math.max(...scrapeMs),
    idle,
    canaryMax: canary.length === 0 ? Number.NaN : Math.max(...canary),
    canaryMedian: median(canary),
  };
}

export function summarize(input: SummaryInput): SoakSummary {
  const { load, samples, idleBefore, idleAfter, idleLagP99Ms, seriesEverySeconds } = input;
  const totals = load.tally.totals();
  const first = samples[0];
  const last = samples.at(-1);
  const span = first !== undefined && last !== undefined ? last.atS - first.atS : 0;
  return {
    requests: Object.fromEntries(load.tally.kinds),
    okLatency: Object.fromEntries(
      [...load.tally.okDurations].map(([kind, ms]) => [
        kind,
        { p50Ms: percentile(ms, 0.5), p99Ms: percentile(ms, 0.99) },
      ]),
    ),
    totals,
    unexpectedErrors: load.tally.unexpectedCount(),
    errors: [...load.tally.errors.values()],
    bytesServed: totals.bytes,
    averageMBps: totals.bytes / MB / load.wallSeconds,
    clientCores: load.clientCores,
    serverCores:
      span > 0 && first !== undefined && last !== undefined ? (last.serverCpuS - first.serverCpuS) / span : Number.NaN,
    rssMB: seriesStats(
      seriesOf(samples, (sample) => sample.rssBytes / MB),
      RSS_GROWTH_FLOOR_MB_PER_MIN,
    ),
    fds: seriesStats(
      seriesOf(samples, (sample) => sample.fds),
      FD_GROWTH_FLOOR_PER_MIN,
    ),
    heapUsedMB: seriesStats(
      seriesOf(samples, (sample) => (sample.scraped === undefined ? undefined : sample.scraped.heapUsedBytes / MB)),
      RSS_GROWTH_FLOOR_MB_PER_MIN,
    ),
    externalMB: seriesStats(
      seriesOf(samples, (sample) => (sample.scraped === undefined ? undefined : sample.scraped.externalBytes / MB)),
      RSS_GROWTH_FLOOR_MB_PER_MIN,
    ),
    idleBefore,
    idleAfter,
    lagP99Ms: lagFigures(samples, idleLagP99Ms),
    series: seriesRows(samples, seriesEverySeconds),
    hostile: hostileFigures(input.hostile, input.hostileClients),
    inflightAfter: input.inflightAfter,
  };
}
