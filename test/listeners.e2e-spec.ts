import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { makeCertificates, type CertificateFiles } from './support/certificates.js';
import { FakeAssistedService } from './support/fake-assisted-service.js';
import { httpGet, jsonOf } from './support/http-client.js';
import { startTestApp, waitFor, type TestApp } from './support/test-app.js';

const ID = 'e1e2e3e4-f5f6-4a7b-8c9d-aabbccddeeff';

let work: string;
let iso: FixtureIso;
let serverCerts: CertificateFiles;
let assistedCerts: CertificateFiles;
let assisted: FakeAssistedService;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'listeners-'));
  [iso, serverCerts, assistedCerts] = await Promise.all([
    buildFixtureIso({ outPath: join(work, 'base.iso') }),
    makeCertificates(work, 'service'),
    makeCertificates(work, 'assisted'),
  ]);
  // assisted-service itself speaks HTTPS with a certificate from a CA only the extra CA file names.
  assisted = await new FakeAssistedService({ cert: assistedCerts.certPem, key: assistedCerts.keyPem })
    .addInfraEnv({ id: ID, ignition: '{"ignition":{"version":"3.2.0"}}' })
    .listen();
});

afterAll(async () => {
  await assisted.close();
  await rm(work, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<TestApp> {
  const app = await startTestApp({
    DATA_DIR: join(work, `data-${Math.random().toString(36).slice(2)}`),
    OS_IMAGES: JSON.stringify([
      { openshift_version: '4.18', cpu_architecture: 'x86_64', url: `file://${iso.path}`, version: '418.94.1-0' },
    ]),
    ASSISTED_SERVICE_URL: assisted.url,
    ASSISTED_SERVICE_API_TRUSTED_CA_FILE: assistedCerts.caFile,
    ...env,
  });
  const ca = app.baseUrl.startsWith('https:') ? serverCerts.caPem : undefined;
  await waitFor(
    async () => ((await httpGet(`${app.baseUrl}/health`, { ...(ca && { ca }) })).status === 200 ? true : undefined),
    20_000,
    'readiness',
  );
  return app;
}

describe('HTTPS on the main port, plain HTTP on the second', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await start({
      HTTPS_CERT_FILE: serverCerts.certFile,
      HTTPS_KEY_FILE: serverCerts.keyFile,
      HTTP_LISTEN_PORT: '18081',
    });
  });

  afterAll(async () => {
    await app.close();
  });

  it('serves images over TLS with a certificate clients verify', async () => {
    expect(app.baseUrl).toMatch(/^https:/);
    const response = await httpGet(`${app.baseUrl}/images/${ID}?version=4.18`, {
      ca: serverCerts.caPem,
      method: 'HEAD',
    });
    expect(response.status).toBe(200);
    expect(Number(response.headers['content-length'])).toBe(iso.size);
    await expect(httpGet(`${app.baseUrl}/live`)).rejects.toThrow(/certificate/i);
  });

  it('refuses TLS older than 1.2', async () => {
    await expect(httpGet(`${app.baseUrl}/live`, { ca: serverCerts.caPem, maxVersion: 'TLSv1.1' })).rejects.toThrow();
  });

  it.each([
    [`/images/${ID}/pxe-initrd?version=4.18`, 200],
    ['/boot-artifacts/kernel?version=4.18', 200],
    ['/boot-artifacts/rootfs?version=4.18', 200],
    ['/health', 200],
    ['/live', 200],
    ['/metrics', 200],
    [`/images/${ID}?version=4.18`, 404],
    [`/byid/${ID}/4.18/x86_64/full.iso`, 404],
    [`/images/${ID}/s390x-initrd-addrsize?version=4.18`, 404],
    ['/openapi.json', 404],
  ])('plain HTTP %s → %i', async (path, status) => {
    const response = await httpGet(`${app.plainUrl ?? ''}${path}`);
    expect(response.status).toBe(status);
    if (status === 404) expect(jsonOf(response).message).toMatch(/not served over plain HTTP/);
  });

  it('answers the same route over TLS that plain HTTP refuses', async () => {
    expect(
      (await httpGet(`${app.baseUrl}/byid/${ID}/4.18/x86_64/full.iso`, { ca: serverCerts.caPem, method: 'HEAD' }))
        .status,
    ).toBe(200);
  });
});

describe('the extra plain listener without TLS, and the extra CA for assisted-service', () => {
  it('serves every route on both plain listeners', async () => {
    const app = await start({ HTTP_LISTEN_PORT: '18082' });
    try {
      for (const base of [app.baseUrl, app.plainUrl ?? ''])
        expect((await httpGet(`${base}/images/${ID}?version=4.18`, { method: 'HEAD' })).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('answers 502 when assisted-service presents a certificate from a CA it was not told to trust', async () => {
    const app = await start({ ASSISTED_SERVICE_API_TRUSTED_CA_FILE: '' });
    try {
      const response = await httpGet(`${app.baseUrl}/images/${ID}?version=4.18`, { method: 'GET' });
      expect(response.status).toBe(502);
      expect(jsonOf(response).message).toMatch(/certificate/i);
    } finally {
      await app.close();
    }
  });
});
