// Turns the suites' results into the side-by-side table, with the project's targets next to the figures: baseline
// and service over plain HTTP, then (unless skipped) the same pair over HTTPS.
import type { PhaseResult, SuiteResult } from './suite.js';
import { formatNumber, renderTable, type Cell } from './table.js';
import { RANGE_BYTES } from './wrk-range.js';

/** The service column when its route could not be measured. */
interface Unavailable {
  readonly unavailable: string;
}

export type ColumnResult = SuiteResult | Unavailable;

/** The baseline and the service measured over one protocol: two columns of the table. */
export interface ColumnPair {
  readonly baseline: SuiteResult;
  readonly service: ColumnResult;
  /** The service column's title (an unavailable service has no label of its own). */
  readonly serviceLabel: string;
}

interface Row {
  readonly metric: string;
  readonly pick: (result: SuiteResult) => Cell;
  /** The baselines of every pair, in column order. */
  readonly target: (baselines: readonly SuiteResult[]) => string;
}

const RSS_TARGET_LEVEL = 64;

function phaseAt(result: SuiteResult, concurrency: number): PhaseResult | undefined {
  return result.phases.find((phase) => phase.concurrency === concurrency);
}

function phaseRows(levels: readonly number[]): Row[] {
  return levels.flatMap((level): Row[] => [
    { metric: `aggregate MB/s, ${level} concurrent`, pick: (r) => phaseAt(r, level)?.aggregateMBps, target: () => '' },
    {
      metric: `server peak RSS MB, ${level} concurrent`,
      pick: (r) => phaseAt(r, level)?.peakRssMB,
      target: () => (level === RSS_TARGET_LEVEL ? '<= 250 MB' : ''),
    },
    {
      metric: `server CPU s/GB, ${level} concurrent`,
      pick: (r) => phaseAt(r, level)?.cpuSecondsPerGB,
      target: () => '',
    },
    {
      metric: `downloads failed / cut at cap, ${level} conc.`,
      pick: (r) => outcomes(phaseAt(r, level)),
      target: () => '0 failed',
    },
  ]);
}

function outcomes(phase: PhaseResult | undefined): Cell {
  return phase === undefined ? undefined : `${phase.failures.length} / ${phase.cut}`;
}

function rangeCell(
  result: SuiteResult,
  pick: (range: Exclude<SuiteResult['range'], { error: string }>) => number,
): Cell {
  return 'error' in result.range ? `error` : pick(result.range);
}

function rows(levels: readonly number[], wrkConnections: number): Row[] {
  const top = Math.max(...levels);
  const ttfbNote = top === RSS_TARGET_LEVEL ? '' : ` (target is for ${RSS_TARGET_LEVEL})`;
  return [
    {
      metric: 'single-stream MB/s (median run)',
      pick: (r) => r.singleStreamMBps,
      // Each service against the baseline of its own protocol, in column order.
      target: (b) => `>= 0.8x baseline (${b.map((one) => formatNumber(0.8 * one.singleStreamMBps)).join(' / ')})`,
    },
    ...phaseRows(levels),
    { metric: 'server CPU s/GB, all full downloads', pick: (r) => r.cpuSecondsPerGB, target: () => '<= 0.3' },
    {
      metric: `TTFB p50 ms, ${top} simultaneous`,
      pick: (r) => phaseAt(r, top)?.ttfbP50Ms,
      target: () => `<= 100 ms${ttfbNote}`,
    },
    { metric: `TTFB p99 ms, ${top} simultaneous`, pick: (r) => phaseAt(r, top)?.ttfbP99Ms, target: () => '' },
    {
      metric: `${RANGE_BYTES / 1024} KiB Range req/s (wrk, ${wrkConnections} conns)`,
      pick: (r) => rangeCell(r, (g) => g.requestsPerSecond),
      target: () => '>= 5000',
    },
    { metric: 'Range latency p99 ms', pick: (r) => rangeCell(r, (g) => g.latencyP99Ms), target: () => '' },
    {
      metric: 'Range answers not 206 + 64 KiB',
      pick: (r) => rangeCell(r, (g) => g.wrong + g.socketErrors),
      target: () => '0',
    },
    {
      metric: 'client CPU, cores (max of phases)',
      pick: (r) => Math.max(...r.phases.map((p) => p.clientCores)),
      target: () => '(< 1 = client not saturated)',
    },
  ];
}

/** An unavailable service says why once, in the first row, and shows '-' below it. */
function serviceCell(row: Row, service: ColumnResult, index: number): string {
  if ('unavailable' in service) return index === 0 ? service.unavailable : '-';
  return formatNumber(row.pick(service));
}

export function downloadsTable(
  pairs: readonly ColumnPair[],
  levels: readonly number[],
  wrkConnections: number,
): string {
  const header = ['metric', ...pairs.flatMap((pair) => [pair.baseline.label, pair.serviceLabel]), 'target (service)'];
  const baselines = pairs.map((pair) => pair.baseline);
  const body = rows(levels, wrkConnections).map((row, index) => [
    row.metric,
    ...pairs.flatMap((pair) => [formatNumber(row.pick(pair.baseline)), serviceCell(row, pair.service, index)]),
    row.target(baselines),
  ]);
  return renderTable(header, body);
}
