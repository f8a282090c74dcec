import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  CHART_DIR,
  REPO_DIR,
  loadTemplates,
  loadValues,
  readJsonObject,
  readYamlObject,
  type JsonObject,
  type TemplateFile,
} from './chart-files.js';
import { hasValuePath, isReadThroughPrefix, leafValuePaths, valuesPathsInTemplate } from './values-paths.js';

/** Static checks of the chart's files; rendering with a real helm is in helm-render.spec.ts. */
describe('chart files', () => {
  let values: JsonObject;
  let templates: TemplateFile[];
  let manifests: TemplateFile[];

  beforeAll(async () => {
    values = await loadValues();
    templates = await loadTemplates();
    manifests = templates.filter((t) => t.name.endsWith('.yaml'));
  });

  it('Chart.yaml is apiVersion v2, named after its directory, appVersion = package.json version', async () => {
    const chart = await readYamlObject(path.join(CHART_DIR, 'Chart.yaml'));
    const pkg = await readJsonObject(path.join(REPO_DIR, 'package.json'));
    expect(chart['apiVersion']).toBe('v2');
    expect(chart['name']).toBe(path.basename(CHART_DIR));
    expect(chart['appVersion']).toBe(pkg['version']);
    expect(chart['version']).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('has helpers, NOTES and the expected objects', () => {
    const names = templates.map((t) => t.name);
    for (const expected of [
      '_helpers.tpl',
      'NOTES.txt',
      'deployment.yaml',
      'statefulset.yaml',
      'service.yaml',
      'pvc.yaml',
      'ingress.yaml',
      'servicemonitor.yaml',
      'hpa.yaml',
      'pdb.yaml',
      'configmap-grafana-dashboard.yaml',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it('reads only value paths that values.yaml defines', () => {
    const missing = templates.flatMap((t) =>
      valuesPathsInTemplate(t.text)
        .filter((p) => !hasValuePath(values, p))
        .map((p) => `${t.name}: .Values.${p}`),
    );
    expect(missing).toEqual([]);
  });

  it('the path scanner finds a path values.yaml lacks', () => {
    const paths = valuesPathsInTemplate(
      '{{ .Values.image.tag }} {{ $.Values.config.nope }} {{- with .Values.service.port }}',
    );
    expect(paths).toEqual(['config.nope', 'image.tag', 'service.port']);
    expect(paths.filter((p) => !hasValuePath(values, p))).toEqual(['config.nope']);
  });

  it('uses every value of values.yaml (itself or through a parent)', () => {
    const read = new Set(templates.flatMap((t) => valuesPathsInTemplate(t.text)));
    const unused = leafValuePaths(values).filter((p) => !isReadThroughPrefix(p, read));
    expect(unused).toEqual([]);
  });

  it('starts every manifest template with `{{- if … }}` or `apiVersion:`', () => {
    const odd = manifests.filter((t) => {
      const first = t.text.split('\n').find((line) => line.trim() !== '' && !line.startsWith('#')) ?? '';
      return !/^\{\{-? if .+\}\}$/.test(first) && !/^apiVersion: \S+$/.test(first);
    });
    expect(odd.map((t) => t.name)).toEqual([]);
  });

  it('labels every object with the shared labels helper and names it with the fullname helper', () => {
    for (const t of manifests) {
      expect(t.text).toMatch(/\n {2}labels:\n\s+\{\{- include "assisted-image-service\.labels" \. \| nindent 4 \}\}/);
      expect(t.text).toMatch(/\n {2}name: .*include "assisted-image-service\.(fullname|[A-Za-z]+Name)"/);
      expect(t.text).toContain('\nkind: ');
    }
  });

  it('includes only templates that the helper files define, names and labels in _helpers.tpl', () => {
    const definitions = (text: string): string[] =>
      [...text.matchAll(/\{\{-? define "([^"]+)"/g)].map((m) => m[1] ?? '');
    const defined = new Set(templates.filter((t) => t.name.endsWith('.tpl')).flatMap((t) => definitions(t.text)));
    const inHelpers = definitions(templates.find((t) => t.name === '_helpers.tpl')?.text ?? '');
    const used = new Set(templates.flatMap((t) => [...t.text.matchAll(/include "([^"]+)"/g)].map((m) => m[1])));
    expect([...used].filter((name) => !defined.has(name))).toEqual([]);
    for (const name of ['name', 'fullname', 'chart', 'labels', 'selectorLabels'])
      expect(inHelpers).toContain(`assisted-image-service.${name}`);
  });

  it('ships every file it loads with .Files.Get', async () => {
    const files = templates.flatMap((t) => [...t.text.matchAll(/\.Files\.Get "([^"]+)"/g)].map((m) => m[1] ?? ''));
    expect(files).toContain('dashboards/assisted-image-service.json');
    for (const file of files) await expect(access(path.join(CHART_DIR, file))).resolves.toBeUndefined();
  });

  it('the chart README shows the install examples the brief asks for', async () => {
    const readme = await readFile(path.join(CHART_DIR, 'README.md'), 'utf8');
    for (const heading of ['Minimal', 'TLS', 'Persistence and a catalog', 'Scaling out', 'OpenShift'])
      expect(readme).toContain(heading);
  });
});
