import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CHART_DIR, isJsonObject, loadValues, withValue, type JsonObject } from './chart-files.js';
import { DASHBOARD_FILE } from './dashboard-metrics.js';
import { requireHelm, findHelm, runHelm, type HelmBinary } from './helm-binary.js';
import {
  FULLNAME,
  containerOf,
  dig,
  digList,
  digObject,
  findObject,
  helmTemplate,
  kindsOf,
  renderChart,
  selects,
  workloadOf,
} from './rendered-manifests.js';

/** The chart rendered by a real helm with its defaults and with each optional part switched on. */
describe('helm chart rendering', () => {
  let helm: HelmBinary | undefined;
  let workDir: string;
  let defaults: JsonObject;

  beforeAll(async () => {
    helm = await findHelm();
    workDir = await mkdtemp(path.join(os.tmpdir(), 'ais-helm-'));
    defaults = await loadValues();
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  const needHelm = (): HelmBinary => requireHelm(helm);
  const render = (values: JsonObject): Promise<JsonObject[]> => renderChart(needHelm(), workDir, values);
  const set = (...changes: [string, unknown][]): JsonObject =>
    changes.reduce((v, [p, value]) => withValue(v, p, value), defaults);

  it('passes helm lint --strict', async () => {
    const result = await runHelm(needHelm(), ['lint', '--strict', CHART_DIR]);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it('renders a hardened Deployment with a cache claim by default', async () => {
    const objects = await render(defaults);
    expect(kindsOf(objects)).toEqual(['Deployment', 'PersistentVolumeClaim', 'Service', 'ServiceAccount']);
    const deployment = workloadOf(objects);
    const pod = digObject(deployment, 'spec', 'template', 'spec');
    const container = containerOf(deployment);
    expect(pod['securityContext']).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1001,
      fsGroup: 0,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container['securityContext']).toEqual({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod['automountServiceAccountToken']).toBe(false);
    expect(Number(pod['terminationGracePeriodSeconds'])).toBeGreaterThanOrEqual(30);
    expect(dig(container, 'livenessProbe', 'httpGet', 'path')).toBe('/live');
    expect(dig(container, 'readinessProbe', 'httpGet', 'path')).toBe('/health');
    const startup = digObject(container, 'startupProbe');
    expect(Number(startup['failureThreshold']) * Number(startup['periodSeconds'])).toBeGreaterThanOrEqual(1800);
    expect(dig(deployment, 'spec', 'strategy', 'type')).toBe('Recreate');
  });

  it('mounts /data from the claim and /tmp from an emptyDir', async () => {
    const objects = await render(defaults);
    const deployment = workloadOf(objects);
    const mounts = Object.fromEntries(
      digList(containerOf(deployment), 'volumeMounts').map((m) => [m['mountPath'], m['name']]),
    );
    const volumes = Object.fromEntries(
      digList(deployment, 'spec', 'template', 'spec', 'volumes').map((v) => [v['name'], v]),
    );
    const claim = findObject(objects, 'PersistentVolumeClaim');
    expect(dig(volumes[String(mounts['/data'])], 'persistentVolumeClaim', 'claimName')).toBe(
      dig(claim, 'metadata', 'name'),
    );
    expect(typeof dig(volumes[String(mounts['/tmp'])], 'emptyDir')).toBe('object');
    expect(dig(claim, 'spec', 'resources', 'requests', 'storage')).toBe('20Gi');
  });

  it('points every Service port and selector at the pods', async () => {
    const objects = await render(set(['config.httpListenPort', 8081], ['tls.secretName', 'ais-tls']));
    const workload = workloadOf(objects);
    const podLabels = digObject(workload, 'spec', 'template', 'metadata', 'labels');
    const portNames = digList(containerOf(workload), 'ports').map((p) => p['name']);
    const service = findObject(objects, 'Service', FULLNAME);
    expect(selects({ matchLabels: digObject(service, 'spec', 'selector') }, podLabels)).toBe(true);
    expect(selects(digObject(workload, 'spec', 'selector'), podLabels)).toBe(true);
    expect(digList(service, 'spec', 'ports').map((p) => [p['name'], p['targetPort']])).toEqual([
      ['https', 'https'],
      ['http', 'http'],
    ]);
    for (const port of digList(service, 'spec', 'ports')) expect(portNames).toContain(port['targetPort']);
  });

  it('uses an emptyDir and a surge rollout without persistence', async () => {
    const objects = await render(set(['persistence.enabled', false], ['replicaCount', 3]));
    expect(kindsOf(objects)).not.toContain('PersistentVolumeClaim');
    const deployment = workloadOf(objects);
    const data = digList(deployment, 'spec', 'template', 'spec', 'volumes').find((v) => v['name'] === 'data');
    expect(data).toEqual({ name: 'data', emptyDir: {} });
    expect(dig(deployment, 'spec', 'replicas')).toBe(3);
    expect(dig(deployment, 'spec', 'strategy')).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  });

  it('gives each replica its own claim with persistence.perReplica', async () => {
    const objects = await render(
      set(['persistence.perReplica', true], ['replicaCount', 3], ['serviceMonitor.enabled', true]),
    );
    expect(kindsOf(objects)).toEqual(['Service', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet']);
    const sts = workloadOf(objects);
    expect(digList(sts, 'spec', 'volumeClaimTemplates').map((t) => dig(t, 'metadata', 'name'))).toEqual(['data']);
    expect(digList(sts, 'spec', 'template', 'spec', 'volumes').map((v) => v['name'])).not.toContain('data');
    expect(dig(sts, 'spec', 'podManagementPolicy')).toBe('Parallel');
    const headless = findObject(objects, 'Service', String(dig(sts, 'spec', 'serviceName')));
    expect(dig(headless, 'spec', 'clusterIP')).toBe('None');
    // Prometheus must scrape each pod once: only the load-balanced Service matches the ServiceMonitor.
    const selector = digObject(findObject(objects, 'ServiceMonitor'), 'spec', 'selector');
    const scraped = objects.filter(
      (o) => o['kind'] === 'Service' && selects(selector, digObject(o, 'metadata', 'labels')),
    );
    expect(scraped.map((s) => dig(s, 'metadata', 'name'))).toEqual([FULLNAME]);
  });

  it.each([
    [[['replicaCount', 2]], 'several replicas cannot share one cache volume'],
    [[['autoscaling.enabled', true]], 'several replicas cannot share one cache volume'],
    [
      [
        ['persistence.perReplica', true],
        ['persistence.enabled', false],
      ],
      'perReplica needs persistence.enabled',
    ],
    [
      [
        ['catalog.osImagesJson', '[]'],
        [
          'catalog.osImages',
          [{ openshift_version: '4.14', cpu_architecture: 'x86_64', version: '1', url: 'https://m/x.iso' }],
        ],
      ],
      'not both',
    ],
    [
      [
        ['osImagesRequest.existingSecret', 'mine'],
        ['osImagesRequest.headers', { A: 'b' }],
      ],
      'must be empty',
    ],
    [[['config.logLevel', 'verbose']], 'logLevel'],
  ] as [[string, unknown][], string][])('refuses %j', async (changes, message) => {
    const result = await helmTemplate(needHelm(), workDir, set(...changes));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it('drops runAsUser and fsGroup for OpenShift when set to null', async () => {
    const result = await helmTemplate(needHelm(), workDir, defaults, [
      '--set',
      'podSecurityContext.runAsUser=null',
      '--set',
      'podSecurityContext.fsGroup=null',
    ]);
    expect(result.code).toBe(0);
    // In a values file too: null deletes a chart default, leaving the key out would keep it.
    const objects = await render(set(['podSecurityContext.runAsUser', null], ['podSecurityContext.fsGroup', null]));
    const securityContext = digObject(workloadOf(objects), 'spec', 'template', 'spec', 'securityContext');
    expect(securityContext).not.toHaveProperty('runAsUser');
    expect(securityContext).not.toHaveProperty('fsGroup');
    expect(securityContext['runAsNonRoot']).toBe(true);
    expect(result.stdout).not.toMatch(/runAsUser|fsGroup:/);
  });

  it('renders the optional Ingress, HPA, PDB and dashboard against the workload', async () => {
    const objects = await render(
      set(
        ['persistence.enabled', false],
        ['ingress.enabled', true],
        ['autoscaling.enabled', true],
        ['podDisruptionBudget.enabled', true],
        ['grafanaDashboard.enabled', true],
      ),
    );
    const workload = workloadOf(objects);
    const podLabels = digObject(workload, 'spec', 'template', 'metadata', 'labels');
    expect(dig(workload, 'spec', 'replicas')).toBeUndefined();
    const hpa = findObject(objects, 'HorizontalPodAutoscaler');
    expect(hpa['apiVersion']).toBe('autoscaling/v2');
    expect(dig(hpa, 'spec', 'scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: FULLNAME });
    expect(selects(digObject(findObject(objects, 'PodDisruptionBudget'), 'spec', 'selector'), podLabels)).toBe(true);
    const ingress = findObject(objects, 'Ingress');
    expect(dig(ingress, 'metadata', 'annotations', 'nginx.ingress.kubernetes.io/proxy-buffering')).toBe('off');
    expect(dig(ingress, 'spec', 'rules', 0, 'http', 'paths', 0, 'backend', 'service')).toEqual({
      name: FULLNAME,
      port: { name: 'http' },
    });
    const dashboard = findObject(objects, 'ConfigMap', `${FULLNAME}-dashboard`);
    expect(dig(dashboard, 'metadata', 'labels', 'grafana_dashboard')).toBe('1');
    const shipped: unknown = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8'));
    expect(JSON.parse(String(dig(dashboard, 'data', 'assisted-image-service.json')))).toEqual(shipped);
  });

  it('scrapes /metrics over the plain listener when TLS has one, else over HTTPS', async () => {
    const endpoint = async (values: JsonObject): Promise<JsonObject> =>
      digObject(findObject(await render(values), 'ServiceMonitor'), 'spec', 'endpoints', 0);
    const monitored = set(['serviceMonitor.enabled', true], ['tls.secretName', 'ais-tls']);
    expect(await endpoint(withValue(monitored, 'config.httpListenPort', 8081))).toMatchObject({
      port: 'http',
      scheme: 'http',
      path: '/metrics',
    });
    const https = await endpoint(monitored);
    expect(https).toMatchObject({ port: 'https', scheme: 'https', path: '/metrics', interval: '30s' });
    expect(isJsonObject(https['tlsConfig'])).toBe(true);
  });
});
