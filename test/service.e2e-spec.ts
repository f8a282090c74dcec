import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso } from './fixtures/iso-fixture.js';
import { startTestApp, waitFor, type TestApp } from './support/test-app.js';

let work: string;
let app: TestApp;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'service-e2e-'));
  const iso = await buildFixtureIso({ outPath: join(work, 'base.iso') });
  const catalog = [
    {
      openshift_version: '4.18',
      cpu_architecture: 'x86_64',
      url: `file://${iso.path}`,
      version: '418.94.202501010000-0',
    },
  ];
  app = await startTestApp({ DATA_DIR: join(work, 'data'), OS_IMAGES: JSON.stringify(catalog) });
  await waitFor(
    async () => ((await fetch(`${app.baseUrl}/health`)).status === 200 ? true : undefined),
    20_000,
    'readiness',
  );
});

afterAll(async () => {
  await app.close();
  await rm(work, { recursive: true, force: true });
});

describe('liveness, readiness, metrics and docs', () => {
  it('/live answers 200', async () => {
    const response = await fetch(`${app.baseUrl}/live`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/health lists every image as ready once the cache is complete', async () => {
    const response = await fetch(`${app.baseUrl}/health`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; details: { images: Record<string, unknown> } };
    expect(body.status).toBe('ok');
    expect(body.details.images).toMatchObject({
      status: 'up',
      'rhcos-full-iso-418.94.202501010000-0-x86_64.iso': { status: 'ready' },
    });
  });

  it('/metrics exposes process, HTTP (every route, matched or not) and cache metrics', async () => {
    await fetch(`${app.baseUrl}/live`);
    await fetch(`${app.baseUrl}/no/such/route?api_key=secret-in-query`);
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(
      /^assisted_image_service_http_request_duration_seconds_bucket\{le="0\.1",method="GET",handler="\/live",code="200"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^assisted_image_service_http_request_duration_seconds_bucket\{le="600",method="GET",handler="unmatched",code="404"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^assisted_image_service_http_response_size_bytes_bucket\{le="10000000000",method="GET",handler="\/live",code="200"\} [1-9]/m,
    );
    expect(text).toMatch(/^assisted_image_service_http_requests_inflight\{method="GET",group="metrics"\} 1$/m);
    expect(text).toMatch(/^assisted_image_service_cache_images\{state="ready"\} 1$/m);
    expect(text).toMatch(
      /^assisted_image_service_cache_image_state\{image="rhcos-full-iso-418\.94\.202501010000-0-x86_64",state="ready"\} 1$/m,
    );
    expect(text).toMatch(
      /^assisted_image_service_cache_downloaded_bytes\{image="rhcos-full-iso-418\.94\.202501010000-0-x86_64"\} [1-9]\d+$/m,
    );
    expect(text).not.toContain('secret-in-query');
  });

  it('/openapi.json is a valid OpenAPI document describing the routes, and /docs serves the interactive page', async () => {
    const document = (await (await fetch(`${app.baseUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const result = await new Validator().validate(document as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/live',
        '/health',
        '/metrics',
        '/images/{image_id}',
        '/byid/{image_id}/{version}/{arch}/{filename}',
        '/bytoken/{token}/{version}/{arch}/{filename}',
        '/byapikey/{api_key}/{version}/{arch}/{filename}',
        '/images/{image_id}/pxe-initrd',
        '/images/{image_id}/s390x-initrd-addrsize',
        '/boot-artifacts/{artifact}',
      ]),
    );
    const download = document.paths['/images/{image_id}'] as {
      get: { parameters: { name: string }[]; responses: Record<string, unknown> };
      head: unknown;
    };
    expect(download.get.parameters.map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining(['image_id', 'version', 'type', 'arch', 'api_key', 'image_token']),
    );
    expect(Object.keys(download.get.responses)).toEqual(
      expect.arrayContaining(['200', '206', '304', '400', '401', '404', '416', '502', '503', '504']),
    );
    expect(download.head).toBeDefined();
    const page = await fetch(`${app.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
  });

  it('answers an unknown route with a JSON 404 that says why', async () => {
    const response = await fetch(`${app.baseUrl}/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ statusCode: 404, message: expect.stringContaining('/nothing-here') });
  });

  it('writes one JSON request log line per request, without credentials', async () => {
    const before = app.logs.length;
    await fetch(
      `${app.baseUrl}/bytoken/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl/4.18/x86_64/full.iso?api_key=k-12345`,
      {
        headers: { authorization: 'Bearer token-67890' },
      },
    );
    const lines = app.logs.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    const request = lines.find((line) => line.context === 'HttpRequest');
    expect(request).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/bytoken/:token/:version/:arch/:filename',
      status: 404,
      aborted: false,
    });
    expect(typeof request?.bytes).toBe('number');
    expect(typeof request?.durationMs).toBe('number');
    expect(typeof request?.time).toBe('string');
    const all = app.logs.join('\n');
    for (const secret of ['k-12345', 'token-67890', 'eyJhbGciOiJIUzI1NiJ9', 'c2lnbmF0dXJl'])
      expect(all).not.toContain(secret);
  });

  it('sends X-Content-Type-Options: nosniff and no X-Powered-By on every response', async () => {
    for (const path of [
      '/live',
      '/health',
      '/metrics',
      '/openapi.json',
      '/docs',
      '/nothing-here',
      '/images/not-a-uuid?version=1',
    ]) {
      const response = await fetch(`${app.baseUrl}${path}`);
      expect(response.headers.get('x-powered-by')).toBeNull();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});
