import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from '../fixtures/iso-fixture.js';
import { makeCertificates, type CertificateFiles } from '../support/certificates.js';
import { spawnService } from '../support/service-process.js';
import { isJsonObject, loadValues, withValue, type JsonObject } from './chart-files.js';
import { requireHelm, findHelm } from './helm-binary.js';
import { materializePod } from './pod-sandbox.js';
import { containerOf, digList, renderChart, workloadOf } from './rendered-manifests.js';

/**
 * The built service run with the environment and files the chart gives its pod (every configuration setting, TLS, both
 * CAs, the download Secret, a file:// catalog of a real fixture ISO): it must accept them, sync the catalog,
 * and answer the rendered probes on the ports they name.
 */
describe('the service started as the chart configures it', () => {
  let work: string;
  let iso: FixtureIso;
  let certs: CertificateFiles;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ais-helm-start-'));
    iso = await buildFixtureIso({ outPath: path.join(work, 'rhcos.iso') });
    certs = await makeCertificates(work);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('syncs the catalog and answers every probe', async () => {
    const helm = requireHelm(await findHelm());
    const [listenPort, httpListenPort] = [await freePort(), await freePort()];
    const changes: [string, unknown][] = [
      ['config.listenPort', listenPort],
      ['config.httpListenPort', httpListenPort],
      ['config.logLevel', 'debug'],
      ['config.assistedServiceUrl', 'https://127.0.0.1:1'],
      ['config.imageServiceBaseUrl', `https://127.0.0.1:${listenPort}`],
      ['config.allowedDomains', ['https://console.example.com']],
      ['config.maxConcurrentRequests', 10],
      ['config.customizationCacheTtlSeconds', 60],
      ['config.insecureSkipVerify', true],
      [
        'catalog.osImages',
        [
          {
            openshift_version: '4.18',
            cpu_architecture: 'x86_64',
            version: '418.94.202501010000-0',
            url: `file://${iso.path}`,
          },
        ],
      ],
      ['osImagesRequest.headers', { 'X-Mirror-Token': 'secret' }],
      ['osImagesRequest.queryParams', { channel: 'stable' }],
      ['trustedCA.osImageDownload.pem', certs.caPem],
      ['trustedCA.assistedServiceApi.existingConfigMap', 'service-ca'],
      ['trustedCA.assistedServiceApi.key', 'service-ca.crt'],
      ['tls.secretName', 'ais-tls'],
    ];
    const values = changes.reduce((v, [p, value]) => withValue(v, p, value), await loadValues());
    const objects = await renderChart(helm, path.join(work), values);
    const root = path.join(work, 'pod');
    const env = await materializePod(objects, root, {
      configMaps: { 'service-ca': { 'service-ca.crt': certs.caPem } },
      secrets: { 'ais-tls': { 'tls.crt': certs.certPem, 'tls.key': certs.keyPem } },
    });

    const service = spawnService(env);
    try {
      await service.waitForLine(/listening on port .*HTTPS/);
      const container = containerOf(workloadOf(objects));
      await waitUntil(() => probe(container, 'readinessProbe', certs.caPem).then((status) => status === 200), 60_000);
      for (const name of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        expect(await probe(container, name, certs.caPem)).toBe(200);
      expect(await get(`http://127.0.0.1:${httpListenPort}/health`)).toBe(200);
      expect(await readdir(path.join(root, 'data'))).toContain('rhcos-full-iso-418.94.202501010000-0-x86_64.iso');
    } finally {
      service.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  });
});

/** One request as the kubelet would make for a rendered probe (kubelet skips certificate checks; we verify). */
function probe(container: JsonObject, name: string, ca: string): Promise<number> {
  const httpGet = container[name];
  const spec = isJsonObject(httpGet) && isJsonObject(httpGet['httpGet']) ? httpGet['httpGet'] : undefined;
  if (spec === undefined) throw new Error(`${name} is not an httpGet probe`);
  const port = digList(container, 'ports').find((p) => p['name'] === spec['port'])?.['containerPort'];
  const scheme = String(spec['scheme']).toLowerCase();
  return get(`${scheme}://127.0.0.1:${String(port)}${String(spec['path'])}`, ca);
}

function get(url: string, ca?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onResponse = (response: http.IncomingMessage): void => {
      response.resume();
      resolve(response.statusCode ?? 0);
    };
    const request = url.startsWith('https:') ? https.get(url, { ca }, onResponse) : http.get(url, onResponse);
    request.on('error', reject);
  });
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
