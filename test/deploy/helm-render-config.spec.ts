import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadValues, withValue, type JsonObject } from './chart-files.js';
import { requireHelm, findHelm, type HelmBinary } from './helm-binary.js';
import {
  containerOf,
  dig,
  digList,
  digObject,
  envOf,
  envValue,
  findObject,
  renderChart,
  volumeForFile,
  workloadOf,
} from './rendered-manifests.js';

/** Every configuration variable set from values, checked in the manifests a real helm renders. */
const PEM_A = '-----BEGIN CERTIFICATE-----\nMIIBmirror\n-----END CERTIFICATE-----\n';
const PEM_B = '-----BEGIN CERTIFICATE-----\nMIIBassisted\n-----END CERTIFICATE-----\n';
const CATALOG = [
  {
    openshift_version: '4.14',
    cpu_architecture: 'x86_64',
    version: '414.92.202310170514-0',
    url: 'https://mirror.example/rhcos-4.14.iso',
    rootfs_url: 'https://mirror.example/rootfs.img',
  },
  {
    openshift_version: '4.15',
    cpu_architecture: 'arm64',
    version: '415.92.1',
    url: 'file:///mirror/rhcos-4.15-aarch64.iso',
    type: 'disconnected-iso',
    sha256: 'ab'.repeat(32),
  },
];
const SEED_MAP = {
  '4.6': { iso_url: 'https://mirror.example/rhcos-4.6.iso', rootfs_url: 'https://mirror.example/rootfs-4.6.img' },
};
const HEADERS = { Authorization: 'Bearer s3cret' };
const QUERY = { token: 'q' };

/** Configuration variables under their canonical names (aliases and the split URL come through extraEnv). */
const REFERENCE_VARIABLES = [
  'DATA_DIR',
  'DATA_TEMP_DIR',
  'OS_IMAGES',
  'RHCOS_VERSIONS',
  'LISTEN_PORT',
  'HTTP_LISTEN_PORT',
  'HTTPS_CERT_FILE',
  'HTTPS_KEY_FILE',
  'ASSISTED_SERVICE_URL',
  'ASSISTED_SERVICE_API_TRUSTED_CA_FILE',
  'IMAGE_SERVICE_BASE_URL',
  'OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE',
  'INSECURE_SKIP_VERIFY',
  'OS_IMAGES_REQUEST_HEADERS',
  'OS_IMAGES_REQUEST_QUERY_PARAMS',
  'ALLOWED_DOMAINS',
  'MAX_CONCURRENT_REQUESTS',
  'CUSTOMIZATION_CACHE_TTL_SECONDS',
  'LOG_LEVEL',
];

describe('helm chart configuration', () => {
  let helm: HelmBinary | undefined;
  let workDir: string;
  let full: JsonObject;

  beforeAll(async () => {
    helm = await findHelm();
    workDir = await mkdtemp(path.join(os.tmpdir(), 'ais-helm-config-'));
    const changes: [string, unknown][] = [
      ['config.logLevel', 'debug'],
      ['config.listenPort', 8443],
      ['config.httpListenPort', 8080],
      ['config.assistedServiceUrl', 'http://assisted-service.ai.svc:8090'],
      ['config.imageServiceBaseUrl', 'https://images.example.com'],
      ['config.allowedDomains', ['https://a.example', 'https://b.example']],
      ['config.maxConcurrentRequests', 50],
      ['config.customizationCacheTtlSeconds', 0],
      ['config.insecureSkipVerify', true],
      ['catalog.osImages', CATALOG],
      ['catalog.rhcosVersions', SEED_MAP],
      ['osImagesRequest.headers', HEADERS],
      ['osImagesRequest.queryParams', QUERY],
      ['trustedCA.osImageDownload.pem', PEM_A],
      ['trustedCA.assistedServiceApi.existingConfigMap', 'openshift-service-ca.crt'],
      ['trustedCA.assistedServiceApi.key', 'service-ca.crt'],
      ['tls.secretName', 'ais-serving-cert'],
      ['extraEnv', [{ name: 'ASSISTED_SERVICE_SCHEME', value: 'https' }]],
    ];
    full = changes.reduce((values, [p, value]) => withValue(values, p, value), await loadValues());
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  const renderFull = (): Promise<JsonObject[]> => renderChart(requireHelm(helm), workDir, full);

  it('sets every configuration variable, plus extraEnv', async () => {
    const env = envOf(containerOf(workloadOf(await renderFull())));
    expect(REFERENCE_VARIABLES.filter((name) => !env.has(name))).toEqual([]);
    expect(env.get('ASSISTED_SERVICE_SCHEME')).toEqual({ name: 'ASSISTED_SERVICE_SCHEME', value: 'https' });
  });

  it('passes scalar settings as strings the service parses', async () => {
    const container = containerOf(workloadOf(await renderFull()));
    expect(
      Object.fromEntries(
        [
          'LOG_LEVEL',
          'LISTEN_PORT',
          'HTTP_LISTEN_PORT',
          'ASSISTED_SERVICE_URL',
          'IMAGE_SERVICE_BASE_URL',
          'ALLOWED_DOMAINS',
          'MAX_CONCURRENT_REQUESTS',
          'CUSTOMIZATION_CACHE_TTL_SECONDS',
          'INSECURE_SKIP_VERIFY',
          'DATA_DIR',
          'DATA_TEMP_DIR',
        ].map((n) => [n, envValue(container, n)]),
      ),
    ).toEqual({
      LOG_LEVEL: 'debug',
      LISTEN_PORT: '8443',
      HTTP_LISTEN_PORT: '8080',
      ASSISTED_SERVICE_URL: 'http://assisted-service.ai.svc:8090',
      IMAGE_SERVICE_BASE_URL: 'https://images.example.com',
      ALLOWED_DOMAINS: 'https://a.example,https://b.example',
      MAX_CONCURRENT_REQUESTS: '50',
      CUSTOMIZATION_CACHE_TTL_SECONDS: '0',
      INSECURE_SKIP_VERIFY: 'true',
      DATA_DIR: '/data',
      DATA_TEMP_DIR: '/tmp/assisted-image-service',
    });
    expect(
      digList(containerOf(workloadOf(await renderFull())), 'ports').map((p) => [p['name'], p['containerPort']]),
    ).toEqual([
      ['https', 8443],
      ['http', 8080],
    ]);
  });

  it('renders the catalogs as JSON the values describe', async () => {
    const container = containerOf(workloadOf(await renderFull()));
    expect(JSON.parse(envValue(container, 'OS_IMAGES') ?? 'null')).toEqual(CATALOG);
    expect(JSON.parse(envValue(container, 'RHCOS_VERSIONS') ?? 'null')).toEqual(SEED_MAP);
  });

  it('takes raw JSON catalogs verbatim', async () => {
    const raw = '[{"openshift_version":"4.16","cpu_architecture":"s390x","version":"416.1","url":"https://m/x.iso"}]';
    const values = withValue(
      withValue(withValue(full, 'catalog.osImages', []), 'catalog.osImagesJson', raw),
      'catalog.rhcosVersions',
      [],
    );
    const container = containerOf(workloadOf(await renderChart(requireHelm(helm), workDir, values)));
    expect(envValue(container, 'OS_IMAGES')).toBe(raw);
    expect(envOf(container).has('RHCOS_VERSIONS')).toBe(false);
  });

  it('reads download headers and query parameters from a Secret, never from plain env', async () => {
    const objects = await renderFull();
    const env = envOf(containerOf(workloadOf(objects)));
    const fromSecret = (name: string): unknown => {
      const ref = digObject(env.get(name), 'valueFrom', 'secretKeyRef');
      const secret = findObject(objects, 'Secret', String(ref['name']));
      return JSON.parse(String(dig(secret, 'stringData', String(ref['key']))));
    };
    expect(fromSecret('OS_IMAGES_REQUEST_HEADERS')).toEqual(HEADERS);
    expect(fromSecret('OS_IMAGES_REQUEST_QUERY_PARAMS')).toEqual(QUERY);
    const workload = JSON.stringify(workloadOf(objects));
    expect(workload).not.toContain('s3cret');
  });

  it('mounts each trusted CA where its variable points', async () => {
    const objects = await renderFull();
    const workload = workloadOf(objects);
    const container = containerOf(workload);
    const caFile = (variable: string): { configMap: string; key: string } => {
      const { volume, fileName } = volumeForFile(workload, envValue(container, variable) ?? '');
      const item = digList(volume, 'configMap', 'items').find((i) => i['path'] === fileName);
      return { configMap: String(dig(volume, 'configMap', 'name')), key: String(item?.['key']) };
    };
    const download = caFile('OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE');
    expect(dig(findObject(objects, 'ConfigMap', download.configMap), 'data', download.key)).toBe(PEM_A);
    expect(caFile('ASSISTED_SERVICE_API_TRUSTED_CA_FILE')).toEqual({
      configMap: 'openshift-service-ca.crt',
      key: 'service-ca.crt',
    });
  });

  it('mounts the TLS Secret where HTTPS_CERT_FILE and HTTPS_KEY_FILE point, and probes over HTTPS', async () => {
    const workload = workloadOf(await renderFull());
    const container = containerOf(workload);
    for (const [variable, key] of [
      ['HTTPS_CERT_FILE', 'tls.crt'],
      ['HTTPS_KEY_FILE', 'tls.key'],
    ] as const) {
      const { volume, fileName } = volumeForFile(workload, envValue(container, variable) ?? '');
      expect(dig(volume, 'secret', 'secretName')).toBe('ais-serving-cert');
      expect(fileName).toBe(key);
    }
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(dig(container, probe, 'httpGet')).toMatchObject({ port: 'https', scheme: 'HTTPS' });
    }
  });

  it('restarts pods when the chart-made Secret or CA ConfigMap changes', async () => {
    const annotations = async (values: JsonObject): Promise<JsonObject> =>
      digObject(
        workloadOf(await renderChart(requireHelm(helm), workDir, values)),
        'spec',
        'template',
        'metadata',
        'annotations',
      );
    const before = await annotations(full);
    const afterHeaders = await annotations(
      withValue(full, 'osImagesRequest.headers', { Authorization: 'Bearer other' }),
    );
    const afterCa = await annotations(withValue(full, 'trustedCA.osImageDownload.pem', PEM_B));
    expect(afterHeaders['checksum/os-images-request']).not.toBe(before['checksum/os-images-request']);
    expect(afterHeaders['checksum/trusted-ca']).toBe(before['checksum/trusted-ca']);
    expect(afterCa['checksum/trusted-ca']).not.toBe(before['checksum/trusted-ca']);
  });
});
