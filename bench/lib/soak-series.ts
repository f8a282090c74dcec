// The soak's per-second samples as figures: min/max/first/last and second-half trend of one series, and the
// compact table of one row per few seconds.
import type { SoakSample } from './soak-monitor.js';
import { isGrowing, linearTrend } from './soak-stats.js';
import { MB } from './table.js';

export interface TimedValue {
  readonly atS: number;
  readonly value: number;
}

export interface SeriesStats {
  readonly first: number;
  readonly min: number;
  readonly max: number;
  readonly last: number;
  /** Least-squares slope over the second half of the run, per minute. */
  readonly trendPerMin: number;
  readonly trendStandardErrorPerMin: number;
  readonly growing: boolean;
}

/** The second half is the steady state: the first half holds the warm-up (JIT, heap growing to its working size). */
export function seriesStats(series: readonly TimedValue[], growthFloorPerMin: number): SeriesStats {
  const values = series.map((point) => point.value);
  const endS = series.at(-1)?.atS ?? 0;
  const trend = linearTrend(
    series.filter((point) => point.atS >= endS / 2).map((point) => ({ x: point.atS / 60, y: point.value })),
  );
  return {
    first: values[0] ?? Number.NaN,
    min: values.length === 0 ? Number.NaN : Math.min(...values),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
    last: values.at(-1) ?? Number.NaN,
    trendPerMin: trend.slope,
    trendStandardErrorPerMin: trend.standardError,
    growing: isGrowing(trend, growthFloorPerMin),
  };
}

export function seriesOf(
  samples: readonly SoakSample[],
  read: (sample: SoakSample) => number | undefined,
): TimedValue[] {
  return samples.flatMap((sample) => {
    const value = read(sample);
    return value === undefined ? [] : [{ atS: sample.atS, value }];
  });
}

export interface SeriesRow {
  readonly atS: number;
  readonly rssMB: number;
  readonly fds: number;
  /** From the window's last scrape. */
  readonly heapUsedMB: number | undefined;
  readonly externalMB: number | undefined;
  /** The window's worst per-scrape p99. */
  readonly lagP99Ms: number | undefined;
  readonly canaryLagP99Ms: number | undefined;
  readonly clientMBps: number;
  readonly serverCores: number;
}

function windowRow(window: readonly SoakSample[], base: SoakSample): SeriesRow | undefined {
  const end = window.at(-1);
  if (end === undefined) return undefined;
  const seconds = Math.max(end.atS - base.atS, 1e-3);
  const scraped = window.flatMap((sample) => (sample.scraped === undefined ? [] : [sample.scraped]));
  const lastScrape = scraped.at(-1);
  const canary = window.flatMap((sample) => (sample.canaryLagP99Ms === undefined ? [] : [sample.canaryLagP99Ms]));
  return {
    atS: end.atS,
    rssMB: end.rssBytes / MB,
    fds: end.fds,
    heapUsedMB: lastScrape === undefined ? undefined : lastScrape.heapUsedBytes / MB,
    externalMB: lastScrape === undefined ? undefined : lastScrape.externalBytes / MB,
    lagP99Ms: scraped.length === 0 ? undefined : Math.max(...scraped.map((figures) => figures.lagP99Ms)),
    canaryLagP99Ms: canary.length === 0 ? undefined : Math.max(...canary),
    clientMBps: (end.clientBytes - base.clientBytes) / MB / seconds,
    serverCores: (end.serverCpuS - base.serverCpuS) / seconds,
  };
}

/** One row per `everySeconds` window (and one for a last partial window): point figures as at its end. */
export function seriesRows(samples: readonly SoakSample[], everySeconds: number): SeriesRow[] {
  const rows: SeriesRow[] = [];
  let base = samples[0];
  let window: SoakSample[] = [];
  for (const [index, sample] of samples.entries()) {
    window.push(sample);
    const windowEndS = (rows.length + 1) * everySeconds;
    if (sample.atS + 0.5 < windowEndS && index < samples.length - 1) continue;
    const row = base === undefined ? undefined : windowRow(window, base);
    if (row !== undefined) rows.push(row);
    base = sample;
    window = [];
  }
  return rows;
}
