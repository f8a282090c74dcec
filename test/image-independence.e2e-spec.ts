import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { FakeAssistedService } from './support/fake-assisted-service.js';
import { freePort } from './support/free-port.js';
import { httpGet, jsonOf, type RawResponse } from './support/http-client.js';
import { IsoSourceServer } from './support/iso-source-server.js';
import { startTestApp, waitFor, type TestApp } from './support/test-app.js';

const ID = '0a0b0c0d-1111-4222-8333-444455556666';
const VERSION = '418.94.1-0';
const X86_FILE = `rhcos-full-iso-${VERSION}-x86_64.iso`;
const ARM_FILE = `rhcos-full-iso-${VERSION}-arm64.iso`;
const S390X_FILE = `rhcos-full-iso-${VERSION}-s390x.iso`;
/** Put into the broken URLs: a secret that must not reach a message, the health body or a metric label. */
const SECRET = 'mirror-secret-7f3a';
/** TEST_SYNC_OPTIONS retry a failed image after 60 s ± 20 %: the failure stays put while a test looks at it. */
const MAX_FIRST_RETRY_SECONDS = 72;

interface ImageHealth {
  status: string;
  reason?: string;
  retryInSeconds?: number;
  bytesDone?: number;
  firstAttempt?: boolean;
  lastFailure?: { reason: string };
}

interface HealthBody {
  status: string;
  details: { images: Record<string, ImageHealth> };
}

let work: string;
let x86: FixtureIso;
let assisted: FakeAssistedService;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'image-independence-'));
  x86 = await buildFixtureIso({ outPath: join(work, 'x86.iso') });
  assisted = await new FakeAssistedService().listen();
  assisted.addInfraEnv({ id: ID, ignition: '{"ignition":{"version":"3.2.0"}}' });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await assisted.close();
  await rm(work, { recursive: true, force: true });
});

function entry(arch: string, url: string): Record<string, string> {
  return { openshift_version: '4.18', cpu_architecture: arch, url, version: VERSION };
}

/** Starts the app on a catalog of `entries`; `owner` closes it (by default after the current test). */
async function start(entries: Record<string, string>[], syncOptions = {}, owner = cleanups): Promise<TestApp> {
  const dir = await mkdtemp(join(work, 'data-'));
  const app = await startTestApp(
    {
      DATA_DIR: dir,
      DATA_TEMP_DIR: join(work, 'tmp'),
      OS_IMAGES: JSON.stringify(entries),
      ASSISTED_SERVICE_URL: assisted.url,
    },
    { syncOptions },
  );
  owner.push(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });
  return app;
}

async function health(app: TestApp): Promise<{ code: number; body: HealthBody }> {
  const response = await fetch(`${app.baseUrl}/health`);
  return { code: response.status, body: (await response.json()) as HealthBody };
}

/** Waits until `accept` holds for the /health answer, and returns that answer. */
function healthWhen(
  app: TestApp,
  accept: (health: { code: number; body: HealthBody }) => boolean,
  what: string,
): Promise<{ code: number; body: HealthBody }> {
  return waitFor(
    async () => {
      const answer = await health(app);
      return accept(answer) ? answer : undefined;
    },
    30_000,
    what,
  );
}

function expectNotReady(response: RawResponse, fileName: string, state: RegExp): void {
  expect(response.status).toBe(503);
  const body = jsonOf(response);
  expect(body.statusCode).toBe(503);
  expect(body.message).toMatch(new RegExp(`^${fileName.replaceAll('.', '\\.')} is not ready: `));
  expect(body.message).toMatch(state);
  const retryAfter = Number(response.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
}

describe('a broken catalog entry next to a ready one', () => {
  const suiteCleanups: (() => Promise<void>)[] = [];
  let app: TestApp;

  beforeAll(async () => {
    // Nothing listens there: every attempt is refused at once.
    const closed = await freePort();
    const refused = (path: string): string => `http://user:${SECRET}@127.0.0.1:${closed}${path}?token=${SECRET}`;
    app = await start(
      [
        entry('x86_64', `file://${x86.path}`),
        entry('arm64', refused('/arm64.iso')),
        entry('s390x', refused('/s390x.iso')),
      ],
      {},
      suiteCleanups,
    );
    await healthWhen(
      app,
      ({ body }) =>
        body.details.images[ARM_FILE]?.status === 'failed' && body.details.images[X86_FILE]?.status === 'ready',
      'x86_64 ready and arm64 failed',
    );
  });

  afterAll(async () => {
    for (const cleanup of suiteCleanups.splice(0).reverse()) await cleanup();
  });

  const get = (path: string, headers?: Record<string, string>): Promise<RawResponse> =>
    httpGet(`${app.baseUrl}${path}`, { headers });

  it('serves the ready image on every route, with the right bytes for a Range', async () => {
    const expectBytes = async (path: string, start: number, end: number, source: Buffer): Promise<void> => {
      const response = await get(path, { range: `bytes=${start}-${end}` });
      expect(response.status).toBe(206);
      expect(response.body.equals(source.subarray(start, end + 1))).toBe(true);
    };
    const isoHead = (await readFile(x86.path)).subarray(0, 32_768);
    // The system area at the start of the ISO is never customised.
    await expectBytes(`/images/${ID}?version=4.18&arch=x86_64`, 100, 4_195, isoHead);
    await expectBytes(`/byid/${ID}/4.18/x86_64/full.iso`, 0, 511, isoHead);
    await expectBytes(
      `/images/${ID}/pxe-initrd?version=4.18&arch=x86_64`,
      10,
      99,
      x86.files['images/pxeboot/initrd.img'] ?? Buffer.alloc(0),
    );
    await expectBytes(
      '/boot-artifacts/kernel?version=4.18&arch=x86_64',
      10,
      99,
      x86.files['images/pxeboot/vmlinuz'] ?? Buffer.alloc(0),
    );
    expect((await get('/boot-artifacts/rootfs?version=4.18&arch=x86_64')).status).toBe(200);
  });

  it('answers 503 for the broken image on every route, with Retry-After and the failure', async () => {
    const refused = /attempt \d+ failed: .*ECONNREFUSED.*; it is retried in \d+ s$/;
    for (const path of [
      `/images/${ID}?version=4.18&arch=arm64`,
      `/images/${ID}?version=4.18&arch=aarch64&type=minimal-iso`,
      `/byid/${ID}/4.18/arm64/full.iso`,
      `/images/${ID}/pxe-initrd?version=4.18&arch=arm64`,
      '/boot-artifacts/rootfs?version=4.18&arch=arm64',
      '/boot-artifacts/kernel?version=4.18&arch=arm64',
    ]) {
      const response = await get(path);
      expectNotReady(response, ARM_FILE, refused);
      expect(Number(response.headers['retry-after'])).toBeLessThanOrEqual(MAX_FIRST_RETRY_SECONDS);
      expect(response.body.toString()).not.toContain(SECRET);
    }
    expectNotReady(await get(`/images/${ID}/s390x-initrd-addrsize?version=4.18`), S390X_FILE, refused);
  });

  it('keeps 404 and 400 for what the catalog does not have', async () => {
    expect((await get(`/images/${ID}?version=4.99&arch=arm64`)).status).toBe(404);
    expect((await get(`/images/${ID}?version=4.18&arch=ppc64le`)).status).toBe(404);
    expect((await get(`/images/${ID}/pxe-initrd?version=4.99&arch=arm64`)).status).toBe(400);
    expect((await get('/boot-artifacts/kernel?version=4.99&arch=arm64')).status).toBe(400);
  });

  it('is ready (200) and lists the failed images with their reasons', async () => {
    const { code, body } = await health(app);
    expect(code).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.details.images[X86_FILE]).toMatchObject({ status: 'ready' });
    for (const fileName of [ARM_FILE, S390X_FILE]) {
      const image = body.details.images[fileName];
      expect(image).toMatchObject({ status: 'failed', reason: expect.stringMatching(/ECONNREFUSED/) });
      expect(image?.retryInSeconds).toBeGreaterThanOrEqual(1);
      expect(image?.firstAttempt).toBeUndefined();
    }
    expect(JSON.stringify(body)).not.toContain(SECRET);
  });

  it('exports the failures with their reasons for alerts, and none for the ready image', async () => {
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    const failures = text.split('\n').filter((line) => line.startsWith('assisted_image_service_cache_image_failure{'));
    expect(failures).toHaveLength(2);
    for (const image of ['arm64', 's390x']) {
      const line = failures.find((candidate) => candidate.includes(`image="rhcos-full-iso-${VERSION}-${image}"`));
      expect(line).toMatch(/reason="[^"]*ECONNREFUSED[^"]*"\} 1$/);
    }
    expect(text).not.toContain(SECRET);
    expect(text).toMatch(
      new RegExp(
        `assisted_image_service_cache_image_state\\{image="rhcos-full-iso-${VERSION.replaceAll('.', '\\.')}-arm64",state="failed"\\} 1`,
      ),
    );
  });
});

describe('readiness while an image is on its first attempt', () => {
  it('is 503 while a download stalls, yet serves the ready image; 200 once that attempt has failed', async () => {
    const mirror = await new IsoSourceServer().listen();
    cleanups.push(() => mirror.close());
    mirror.route('/arm64.iso', { kind: 'stall', path: x86.path, afterBytes: 65_536 });
    // The stall must outlast the test's look at it; closing the mirror ends it.
    const app = await start([entry('x86_64', `file://${x86.path}`), entry('arm64', mirror.url('/arm64.iso'))], {
      idleTimeoutMs: 120_000,
    });

    const during = await healthWhen(
      app,
      ({ body }) =>
        body.details.images[X86_FILE]?.status === 'ready' && (body.details.images[ARM_FILE]?.bytesDone ?? 0) > 0,
      'x86_64 ready while arm64 downloads',
    );
    expect(during.code).toBe(503);
    expect(during.body.details.images[ARM_FILE]).toMatchObject({ status: 'downloading', firstAttempt: true });
    expect((await httpGet(`${app.baseUrl}/boot-artifacts/kernel?version=4.18&arch=x86_64`)).status).toBe(200);
    const waiting = await httpGet(`${app.baseUrl}/boot-artifacts/kernel?version=4.18&arch=arm64`);
    expectNotReady(waiting, ARM_FILE, /it is downloading \(\d+ %\)$/);
    expect(waiting.headers['retry-after']).toBe('30');

    await mirror.close();
    const after = await healthWhen(
      app,
      ({ body }) => body.details.images[ARM_FILE]?.status === 'failed',
      'the stalled attempt to fail',
    );
    expect(after.code).toBe(200);
  });

  it('is 503 when no image is ready, and drops the failure once the image recovers', async () => {
    const mirror = await new IsoSourceServer().listen();
    cleanups.push(() => mirror.close());
    mirror.route('/x.iso', { kind: 'status', status: 500 });
    const app = await start([entry('x86_64', mirror.url('/x.iso'))], { retryBaseMs: 300, retryMaxMs: 1_000 });
    const failed = await healthWhen(
      app,
      ({ body }) => body.details.images[X86_FILE]?.status === 'failed',
      'the first attempt to fail',
    );
    expect(failed.code).toBe(503);
    expect(await metricLines(app, 'assisted_image_service_cache_image_failure{')).toEqual([
      expect.stringMatching(
        new RegExp(
          `image="rhcos-full-iso-${VERSION.replaceAll('.', '\\.')}-x86_64",reason="HTTP 500 from [^"]*"\\} 1$`,
        ),
      ),
    ]);

    mirror.route('/x.iso', { kind: 'file', path: x86.path });
    const recovered = await healthWhen(
      app,
      ({ body }) => body.details.images[X86_FILE]?.status === 'ready',
      'the retry to succeed',
    );
    expect(recovered.code).toBe(200);
    expect(recovered.body.details.images[X86_FILE]?.lastFailure).toBeUndefined();
    expect(await metricLines(app, 'assisted_image_service_cache_image_failure{')).toEqual([]);
  });
});

async function metricLines(app: TestApp, prefix: string): Promise<string[]> {
  const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}
