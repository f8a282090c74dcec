import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import * as serviceMetrics from '../../src/metrics/metrics.module.js';
import { startTestApp } from '../support/test-app.js';
import { isJsonObject, type JsonObject } from './chart-files.js';
import {
  DASHBOARD_FILE,
  dashboardExpressions,
  dashboardMetricNames,
  dashboardPanels,
  metricNamesInExpression,
  metricNamesInVariableQuery,
  readDashboard,
} from './dashboard-metrics.js';

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** The metric names `src/metrics/metrics.module.ts` exports (every string constant but the prefix). */
function serviceMetricNames(): string[] {
  const exported: unknown[] = Object.values(serviceMetrics);
  return exported.filter((v): v is string => typeof v === 'string' && v !== serviceMetrics.METRIC_PREFIX);
}

/**
 * Series names a live service exposes: it is started for real and `/metrics` is scraped. `# TYPE` lines name every
 * registered metric even before it has samples; a histogram's series carry the `_bucket`/`_sum`/`_count` suffixes.
 */
async function scrapedSeriesNames(): Promise<Set<string>> {
  const work = await mkdtemp(join(tmpdir(), 'dashboard-scrape-'));
  const app = await startTestApp({
    DATA_DIR: join(work, 'data'),
    OS_IMAGES: JSON.stringify([
      {
        openshift_version: '4.18',
        cpu_architecture: 'x86_64',
        url: `file://${join(work, 'absent.iso')}`,
        version: '418.1',
      },
    ]),
  });
  try {
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    const names = new Set<string>();
    for (const [, name = '', type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (type === 'histogram' || type === 'summary')
        for (const suffix of HISTOGRAM_SUFFIXES) names.add(`${name}${suffix}`);
      else names.add(name);
    }
    return names;
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
}

describe('metric names in PromQL', () => {
  it.each([
    ['sum by (handler, code) (rate(foo_count{handler=~"/images/.*", code!="200"}[$__rate_interval]))', ['foo_count']],
    ['histogram_quantile(0.99, sum by (le) (rate(bar_bucket{a="b"}[5m])))', ['bar_bucket']],
    ['sum(rate(a_total[1m] offset 5m)) / on(pod) group_left(node) b_info * 1e6', ['a_total', 'b_info']],
    ['max(x) by (pod) == bool 1 and y unless z', ['x', 'y', 'z']],
    ['process_resident_memory_bytes{namespace=~"$namespace", pod=~"${pod}"}', ['process_resident_memory_bytes']],
    ['label_replace(up, "dst", "$1", "src", "(.*)")', ['up']],
  ])('%s', (expr, expected) => {
    expect(metricNamesInExpression(expr).sort()).toEqual([...expected].sort());
  });

  it('takes the metric of label_values and nothing else', () => {
    expect(metricNamesInVariableQuery('label_values(foo_info{namespace=~"$namespace"}, pod)')).toEqual(['foo_info']);
    expect(metricNamesInVariableQuery('label_values(namespace)')).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  let dashboard: JsonObject;
  let panels: JsonObject[];

  beforeAll(async () => {
    dashboard = await readDashboard();
    panels = dashboardPanels(dashboard);
  });

  it('is JSON with a stable uid and unique panel ids', async () => {
    const text = await readFile(DASHBOARD_FILE, 'utf8');
    expect(() => JSON.parse(text) as unknown).not.toThrow();
    expect(dashboard['uid']).toBe('assisted-image-service');
    const ids = panels.map((p) => p['id']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('queries through the datasource variable, every target with an expr and a refId', () => {
    for (const panel of panels.filter((p) => p['type'] !== 'row')) {
      const targets = Array.isArray(panel['targets']) ? panel['targets'].filter(isJsonObject) : [];
      expect(targets.length).toBeGreaterThan(0);
      for (const target of targets) {
        expect(target['datasource']).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(typeof target['expr']).toBe('string');
        expect(typeof target['refId']).toBe('string');
      }
    }
  });

  it('has the panels of the brief', () => {
    const titles = panels.map((p) => String(p['title']));
    for (const title of [
      'Downloads per second by route and status',
      'Bytes per second by route and status',
      'In-flight requests',
      'Download duration percentiles',
      'Cache state per image',
      'Sync progress',
      'Sync failures',
      'Memory',
      'CPU',
      'Event-loop lag',
    ]) {
      expect(titles).toContain(title);
    }
    expect(
      dashboardExpressions(dashboard).some((e) => e.startsWith('histogram_quantile(') && e.includes('_bucket')),
    ).toBe(true);
  });

  it('queries only metrics a running service exports on /metrics', async () => {
    const exportable = await scrapedSeriesNames();
    const unknown = dashboardMetricNames(dashboard).filter((name) => !exportable.has(name));
    expect(unknown).toEqual([]);
  });

  it('shows assisted-service call rate and errors', () => {
    const users = panels.filter((p) => JSON.stringify(p['targets'] ?? []).includes('assisted_image_service_assisted_'));
    expect(users.map((p) => p['title'])).toEqual(['assisted-service calls and latency']);
  });

  it('covers every metric the service defines', () => {
    const queried = dashboardMetricNames(dashboard).join(' ');
    expect(serviceMetricNames().filter((name) => !queried.includes(name))).toEqual([]);
  });
});
