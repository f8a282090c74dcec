import path from 'node:path';
import { CHART_DIR, isJsonObject, readJsonObject, type JsonObject } from './chart-files.js';

/** The Grafana dashboard shipped in the chart and the metric names its queries use. */
export const DASHBOARD_FILE = path.join(CHART_DIR, 'dashboards', 'assisted-image-service.json');

export function readDashboard(): Promise<JsonObject> {
  return readJsonObject(DASHBOARD_FILE);
}

/** Panels at the top level and inside (collapsed) rows. */
export function dashboardPanels(dashboard: JsonObject): JsonObject[] {
  const top = Array.isArray(dashboard['panels']) ? dashboard['panels'].filter(isJsonObject) : [];
  return top.flatMap((panel) => [
    panel,
    ...(Array.isArray(panel['panels']) ? panel['panels'].filter(isJsonObject) : []),
  ]);
}

/** Every `expr` of every panel target. */
export function dashboardExpressions(dashboard: JsonObject): string[] {
  return dashboardPanels(dashboard).flatMap((panel) => {
    const targets = Array.isArray(panel['targets']) ? panel['targets'].filter(isJsonObject) : [];
    return targets.map((target) => target['expr']).filter((expr): expr is string => typeof expr === 'string');
  });
}

/** Queries of the templating variables (`label_values(metric{…}, label)`). */
function variableQueries(dashboard: JsonObject): string[] {
  const templating = dashboard['templating'];
  const list =
    isJsonObject(templating) && Array.isArray(templating['list']) ? templating['list'].filter(isJsonObject) : [];
  return list.flatMap((variable) => {
    const query = variable['query'];
    if (variable['type'] !== 'query') return [];
    const text = isJsonObject(query) ? query['query'] : query;
    return typeof text === 'string' ? [text] : [];
  });
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * Metric names in one PromQL expression: identifiers that are not functions, keywords, label names or
 * Grafana variables. Strings, label matchers, ranges and grouping label lists are removed first.
 */
export function metricNamesInExpression(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w:])(?!\s*\()/g)) {
    const name = match[1] ?? '';
    if (!PROMQL_KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/** Metric names in a templating query: the metric of `label_values(metric, label)`, else the query as PromQL. */
export function metricNamesInVariableQuery(query: string): string[] {
  if (!/^\s*label_values\(/.test(query)) return metricNamesInExpression(query);
  // label_values(metric{…}, label) names a metric; label_values(label) does not.
  const withMetric = /^\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{[^}]*\})?\s*,/.exec(query);
  return withMetric?.[1] === undefined ? [] : [withMetric[1]];
}

/**
 * Every series name the dashboard queries, sorted and unique, as written (histograms with their
 * `_bucket`/`_sum`/`_count` suffix): compare with the sample names of a `/metrics` scrape.
 */
export function dashboardMetricNames(dashboard: JsonObject): string[] {
  const names = new Set<string>();
  for (const expr of dashboardExpressions(dashboard)) for (const name of metricNamesInExpression(expr)) names.add(name);
  for (const query of variableQueries(dashboard)) for (const name of metricNamesInVariableQuery(query)) names.add(name);
  return [...names].sort();
}
