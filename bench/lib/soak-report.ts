// The soak's printed report: requests by kind, unexpected errors, the resource time series, and the summary of
// figures next to their targets.
import type { RequestKind } from './soak-roles.js';
import type { KindCounts } from './soak-tally.js';
import type { SeriesStats } from './soak-series.js';
import {
  FD_GROWTH_FLOOR_PER_MIN,
  IDLE_FD_SLACK,
  LAG_P99_TARGET_MS,
  RSS_GROWTH_FLOOR_MB_PER_MIN,
  type SoakSummary,
} from './soak-summary.js';
import { MB, formatNumber, renderTable } from './table.js';

const KIND_ORDER: readonly RequestKind[] = [
  'full',
  'minimal',
  'abort-full',
  'abort-minimal',
  'slow-full',
  'slow-minimal',
  'range',
  'pxe',
];

export function requestsTable(summary: SoakSummary, wallSeconds: number): string {
  const rows = KIND_ORDER.flatMap((kind) => {
    const counts = summary.requests[kind];
    if (counts === undefined) return [];
    const latency = summary.okLatency[kind];
    return [[kind, ...countCells(counts, wallSeconds), formatNumber(latency?.p50Ms), formatNumber(latency?.p99Ms)]];
  });
  rows.push(['all', ...countCells(summary.totals, wallSeconds), '', '']);
  return renderTable(
    [
      'kind',
      'done',
      'ok',
      'aborted (ours)',
      'cut at end',
      'unexpected',
      'MB received',
      'req/s',
      'ok p50 ms',
      'ok p99 ms',
    ],
    rows,
  );
}

function countCells(counts: KindCounts, wallSeconds: number): string[] {
  return [
    String(counts.done),
    String(counts.ok),
    String(counts.aborted),
    String(counts.cut),
    String(counts.unexpected),
    formatNumber(counts.bytes / MB),
    formatNumber(counts.done / wallSeconds),
  ];
}

export function errorsTable(summary: SoakSummary): string {
  if (summary.errors.length === 0) return 'unexpected errors: none';
  const rows = summary.errors.map((group) => [
    group.kind,
    group.reason,
    String(group.count),
    `${group.firstAtS.toFixed(1)} s`,
    group.firstDetail.slice(0, 70),
  ]);
  return `unexpected errors:\n${renderTable(['kind', 'reason', 'count', 'first at', 'first detail'], rows)}`;
}

/** What each hostile role tried, and whether the service stopped it where it should. */
export function hostileTable(summary: SoakSummary): string {
  const { hostile } = summary;
  if (hostile.clients === 0) return 'hostile clients: none (--no-hostile)';
  const rows = Object.entries(hostile.roles).map(([role, counts]) => [
    role,
    String(counts.attempts),
    String(counts.expected),
    String(counts.cut),
    String(counts.findings),
  ]);
  const table = renderTable(['hostile role', 'attempts', 'stopped as expected', 'cut at end', 'findings'], rows);
  if (hostile.findingRows.length === 0)
    return `${table}
hostile findings: none`;
  const findings = hostile.findingRows.map((row) => [
    row.role,
    row.finding,
    String(row.count),
    row.detail.slice(0, 70),
  ]);
  return `${table}
hostile findings:
${renderTable(['role', 'finding', 'count', 'first detail'], findings)}`;
}

export function seriesTable(summary: SoakSummary): string {
  const rows = summary.series.map((row) => [
    row.atS.toFixed(0),
    formatNumber(row.rssMB),
    formatNumber(row.heapUsedMB),
    formatNumber(row.externalMB),
    String(row.fds),
    formatNumber(row.lagP99Ms),
    formatNumber(row.canaryLagP99Ms),
    formatNumber(row.clientMBps),
    formatNumber(row.serverCores),
  ]);
  const header = [
    't s',
    'RSS MB',
    'heap used MB',
    'external MB',
    'fds',
    'lag p99 ms',
    'canary lag p99 ms',
    'MB/s to clients',
    'service CPU cores',
  ];
  return renderTable(header, rows);
}

function rangeCell(stats: SeriesStats): string {
  return `first ${formatNumber(stats.first)}, min ${formatNumber(stats.min)}, max ${formatNumber(stats.max)}, last ${formatNumber(stats.last)}`;
}

function trendCell(stats: SeriesStats): string {
  const sign = stats.trendPerMin >= 0 ? '+' : '';
  return `${sign}${formatNumber(stats.trendPerMin)} ± ${formatNumber(stats.trendStandardErrorPerMin)} /min`;
}

function verdict(met: boolean): string {
  return met ? 'ok' : 'NOT MET';
}

export function summaryTable(summary: SoakSummary): string {
  const { rssMB, fds, lagP99Ms, idleBefore, idleAfter } = summary;
  const rows: string[][] = [
    ['unexpected errors', String(summary.unexpectedErrors), '0', verdict(summary.unexpectedErrors === 0)],
    ['expected endings: aborted (ours) / cut at end', `${summary.totals.aborted} / ${summary.totals.cut}`, '', ''],
    [
      'bytes served, GB (avg MB/s)',
      `${formatNumber(summary.bytesServed / 1e9)} (${formatNumber(summary.averageMBps)})`,
      '',
      '',
    ],
    ['RSS MB', rangeCell(rssMB), '', ''],
    [
      'RSS trend, 2nd half, MB',
      trendCell(rssMB),
      `flat: <= ${RSS_GROWTH_FLOOR_MB_PER_MIN}/min or <= 2 s.e.`,
      verdict(!rssMB.growing),
    ],
    ['heap used MB / trend', `${rangeCell(summary.heapUsedMB)}; ${trendCell(summary.heapUsedMB)}`, '', ''],
    ['external MB / trend', `${rangeCell(summary.externalMB)}; ${trendCell(summary.externalMB)}`, '', ''],
    ['open fds', rangeCell(fds), '', ''],
    [
      'fd trend, 2nd half',
      trendCell(fds),
      `flat: <= ${FD_GROWTH_FLOOR_PER_MIN}/min or <= 2 s.e.`,
      verdict(!fds.growing),
    ],
    [
      'idle fds before -> after load (of which shared image descriptors)',
      `${idleBefore.fds} (${idleBefore.imageFds}) -> ${idleAfter === undefined ? 'n/a (service gone)' : `${idleAfter.fds} (${idleAfter.imageFds})`}`,
      `after <= before + ${IDLE_FD_SLACK}, image descriptors apart`,
      idleAfter === undefined
        ? ''
        : verdict(idleAfter.fds - idleAfter.imageFds <= idleBefore.fds - idleBefore.imageFds + IDLE_FD_SLACK),
    ],
    [
      'idle RSS MB before -> after load',
      `${formatNumber(idleBefore.rssBytes / MB)} -> ${idleAfter === undefined ? 'n/a' : formatNumber(idleAfter.rssBytes / MB)}`,
      '',
      '',
    ],
    [
      'event-loop lag p99 ms: max / median',
      `${formatNumber(lagP99Ms.max)} / ${formatNumber(lagP99Ms.median)}`,
      `< ${LAG_P99_TARGET_MS}`,
      verdict(lagP99Ms.max < LAG_P99_TARGET_MS),
    ],
    ['event-loop lag p99 ms, idle before load', formatNumber(lagP99Ms.idle), '', ''],
    [
      'idle canary process lag p99 ms: max / median',
      `${formatNumber(lagP99Ms.canaryMax)} / ${formatNumber(lagP99Ms.canaryMedian)}`,
      '',
      '',
    ],
    [
      '/metrics scrapes: done (ticks skipped) / ms p50, max',
      `${lagP99Ms.samples} (${lagP99Ms.missedScrapes}) / ${formatNumber(lagP99Ms.scrapeMedianMs)}, ${formatNumber(lagP99Ms.scrapeMaxMs)}`,
      '',
      '',
    ],
    [
      'CPU cores: service / client',
      `${formatNumber(summary.serverCores)} / ${formatNumber(summary.clientCores)}`,
      '',
      '',
    ],
    [
      'in-flight requests after the load',
      String(summary.inflightAfter ?? 'n/a'),
      '0',
      summary.inflightAfter === undefined ? '' : verdict(summary.inflightAfter === 0),
    ],
    [
      'hostile clients: findings',
      `${summary.hostile.findings} (${summary.hostile.clients} clients)`,
      '0',
      summary.hostile.clients === 0 ? '' : verdict(summary.hostile.findings === 0),
    ],
    [
      'slowloris connections closed by the service: count / s held median, max',
      `${summary.hostile.slowlorisHeldS.count} / ${formatNumber(summary.hostile.slowlorisHeldS.median)}, ${formatNumber(summary.hostile.slowlorisHeldS.max)}`,
      '',
      '',
    ],
  ];
  return renderTable(['figure', 'value', 'target', 'verdict'], rows);
}

/** Runs shorter than this cannot tell RSS warm-up (the heap and buffer pools growing to their working size) from a leak. */
const WARM_UP_SECONDS = 180;

/** Hints that change how a NOT MET should be read; empty when there is nothing to add. */
export function readingNotes(summary: SoakSummary, loadSeconds: number): string[] {
  const notes: string[] = [];
  if (summary.rssMB.growing && loadSeconds < WARM_UP_SECONDS) {
    notes.push(
      `RSS still grows in a ${loadSeconds.toFixed(0)} s run: that can be warm-up, not a leak; confirm with --seconds=300 (a leak keeps its slope, warm-up flattens).`,
    );
  }
  if (summary.lagP99Ms.max >= LAG_P99_TARGET_MS && summary.lagP99Ms.canaryMax >= LAG_P99_TARGET_MS / 2) {
    notes.push(
      `the idle canary process saw lag p99 up to ${formatNumber(summary.lagP99Ms.canaryMax)} ms with no work of its own: part of the service's lag is CPU contention on this machine.`,
    );
  }
  if (summary.totals.unexpected === 0 && (summary.requests.full?.ok ?? 0) === 0) {
    notes.push(
      'no full-ISO download finished, so none had its length checked: run longer (--seconds=N) or with a smaller fixture (--rootfs-mib=N).',
    );
  }
  return notes;
}
