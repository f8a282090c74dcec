import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { makeCertificates, type CertificateFiles } from './support/certificates.js';
import { freePort } from './support/free-port.js';
import { IsoSourceServer } from './support/iso-source-server.js';
import { startTestApp, waitFor, type TestApp } from './support/test-app.js';

const VERSION = '418.94.202501010000-0';
const FILE_NAME = `rhcos-full-iso-${VERSION}-x86_64.iso`;
/** OpenShift 4.18 images also cache their nmstatectl (docs/live-iso.md). */
const NMSTATE_NAME = `nmstate-${VERSION}-x86_64.img`;
/** The size each cached ISO was verified with, checked at the next start. */
const VERIFIED_NAME = `${FILE_NAME}.verified.json`;

let work: string;
let good: FixtureIso;
let badVolume: FixtureIso;
let noRootfs: FixtureIso;
let goodSha: string;
let certs: CertificateFiles;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cache-sync-'));
  [good, badVolume, noRootfs, certs] = await Promise.all([
    buildFixtureIso({ outPath: join(work, 'good.iso'), rootfsSizeBytes: 3 * 1024 * 1024 }),
    buildFixtureIso({ outPath: join(work, 'bad-volume.iso'), volumeId: 'UBUNTU_22_04' }),
    buildFixtureIso({ outPath: join(work, 'no-rootfs.iso'), omit: ['images/pxeboot/rootfs.img'] }),
    makeCertificates(work, 'mirror'),
  ]);
  goodSha = await sha256Of(good.path);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function mirror(tls?: CertificateFiles): Promise<IsoSourceServer> {
  const server = await new IsoSourceServer(tls && { cert: tls.certPem, key: tls.keyPem }).listen();
  cleanups.push(() => server.close());
  return server;
}

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(work, 'data-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function catalog(
  ...images: { url: string; version?: string; sha256?: string; arch?: string; openshift?: string }[]
): string {
  return JSON.stringify(
    images.map((image) => ({
      openshift_version: image.openshift ?? '4.18',
      cpu_architecture: image.arch ?? 'x86_64',
      url: image.url,
      version: image.version ?? VERSION,
      ...(image.sha256 && { sha256: image.sha256 }),
    })),
  );
}

async function start(env: Record<string, string>, syncOptions = {}): Promise<TestApp> {
  const app = await startTestApp(env, { syncOptions });
  cleanups.push(() => app.close());
  return app;
}

interface HealthBody {
  status: string;
  details: {
    images: Record<
      string,
      | { status: string; reason?: string; bytesDone?: number; bytesTotal?: number; lastFailure?: { reason: string } }
      | string
    >;
  };
}

async function health(app: TestApp): Promise<{ code: number; body: HealthBody }> {
  const response = await fetch(`${app.baseUrl}/health`);
  return { code: response.status, body: (await response.json()) as HealthBody };
}

async function imageState(
  app: TestApp,
  fileName = FILE_NAME,
): Promise<{ status: string; reason?: string; bytesDone?: number; bytesTotal?: number }> {
  const { body } = await health(app);
  const state = body.details.images[fileName];
  if (typeof state !== 'object') throw new Error(`no state for ${fileName} in ${JSON.stringify(body)}`);
  return state;
}

async function settled(app: TestApp, fileName = FILE_NAME): Promise<{ status: string; reason?: string }> {
  return waitFor(
    async () => {
      const state = await imageState(app, fileName);
      return state.status === 'ready' || state.status === 'failed' ? state : undefined;
    },
    20_000,
    `${fileName} to settle`,
  );
}

async function expectNoPartialFiles(dir: string, allowed: string[] = []): Promise<void> {
  expect((await readdir(dir)).filter((name) => !allowed.includes(name))).toEqual([]);
}

describe('cache sync from a real mirror on loopback', () => {
  it('downloads, verifies and serves readiness; /health turns from 503 to 200', async () => {
    const source = await mirror();
    source.route('/rhcos.iso', { kind: 'slow', path: good.path, bytesPerSecond: 2 * 1024 * 1024 });
    const dir = await dataDir();
    const app = await start({ DATA_DIR: dir, OS_IMAGES: catalog({ url: source.url('/rhcos.iso'), sha256: goodSha }) });

    const during = await waitFor(async () => {
      const response = await health(app);
      const state = response.body.details.images[FILE_NAME];
      return typeof state === 'object' && state.status === 'downloading' && (state.bytesDone ?? 0) > 0
        ? response
        : undefined;
    });
    expect(during.code).toBe(503);
    expect(during.body.status).toBe('error');
    const progress = during.body.details.images[FILE_NAME];
    expect(typeof progress === 'object' && progress.bytesTotal).toBe(good.size);

    expect(await settled(app)).toMatchObject({ status: 'ready' });
    const ready = await health(app);
    expect(ready.code).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect((await readdir(dir)).sort()).toEqual([FILE_NAME, NMSTATE_NAME, VERIFIED_NAME].sort());
    expect(await sha256Of(join(dir, FILE_NAME))).toBe(goodSha);
  });

  it('sends the configured headers and query parameters, and only to the catalog origin across redirects', async () => {
    const source = await mirror();
    const other = await mirror();
    other.route('/real.iso', { kind: 'file', path: good.path });
    source.route('/moved.iso', { kind: 'redirect', location: other.url('/real.iso') });
    const dir = await dataDir();
    const app = await start({
      DATA_DIR: dir,
      OS_IMAGES: catalog({ url: `${source.url('/moved.iso')}?existing=1` }),
      OS_IMAGES_REQUEST_HEADERS: JSON.stringify({ 'X-Mirror-Token': 'hdr-secret-123' }),
      OS_IMAGES_REQUEST_QUERY_PARAMS: JSON.stringify({ token: 'query-secret-456' }),
    });
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    const [first] = source.requests;
    expect(first?.headers['x-mirror-token']).toBe('hdr-secret-123');
    expect(new URL(first?.url ?? '', 'http://x').searchParams.get('token')).toBe('query-secret-456');
    expect(new URL(first?.url ?? '', 'http://x').searchParams.get('existing')).toBe('1');
    expect(other.requests[0]?.headers['x-mirror-token']).toBeUndefined();
    const logs = app.logs.join('\n');
    expect(logs).not.toContain('hdr-secret-123');
    expect(logs).not.toContain('query-secret-456');
  });

  it.each([
    [
      'a body shorter than Content-Length',
      (s: IsoSourceServer) => s.route('/x.iso', { kind: 'short-body', path: good.path, extraBytes: 4096 }),
      /broke off after \d+ of \d+ bytes|Content-Length/,
    ],
    [
      'HTTP 500',
      (s: IsoSourceServer) => s.route('/x.iso', { kind: 'status', status: 500 }),
      /HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/x\.iso/,
    ],
    ['HTTP 404', (s: IsoSourceServer) => s.route('/x.iso', { kind: 'status', status: 404 }), /HTTP 404/],
    [
      'a bad volume ID',
      (s: IsoSourceServer) => s.route('/x.iso', { kind: 'file', path: badVolume.path }),
      /volume ID "UBUNTU_22_04" is not a CoreOS live ISO/,
    ],
    [
      'a missing rootfs',
      (s: IsoSourceServer) => s.route('/x.iso', { kind: 'file', path: noRootfs.path }),
      /images\/pxeboot\/rootfs\.img is missing/,
    ],
    [
      'a source that stalls',
      (s: IsoSourceServer) => s.route('/x.iso', { kind: 'stall', path: good.path, afterBytes: 65536 }),
      /no data from .* for 2 s/,
    ],
    [
      'a file that is not an ISO',
      (s: IsoSourceServer) => s.route('/x.iso', { kind: 'file', path: '/etc/services' }),
      /not an ISO 9660 image|ISO/,
    ],
  ])('fails on %s with the reason and leaves no partial file', async (_name, arrange, reason) => {
    const source = await mirror();
    arrange(source);
    const dir = await dataDir();
    const app = await start({ DATA_DIR: dir, OS_IMAGES: catalog({ url: source.url('/x.iso') }) });
    const state = await settled(app);
    expect(state.status).toBe('failed');
    expect(state.reason).toMatch(reason);
    await expectNoPartialFiles(dir);
    expect((await health(app)).code).toBe(503);
    // The failure is the image's, not the service's.
    expect((await fetch(`${app.baseUrl}/live`)).status).toBe(200);
  });

  it('fails on a sha256 mismatch and removes the download', async () => {
    const source = await mirror();
    source.route('/x.iso', { kind: 'file', path: good.path });
    const dir = await dataDir();
    const app = await start({
      DATA_DIR: dir,
      OS_IMAGES: catalog({ url: source.url('/x.iso'), sha256: 'ab'.repeat(32) }),
    });
    const state = await settled(app);
    expect(state.reason).toBe(`sha256 mismatch: expected ${'ab'.repeat(32)}, got ${goodSha}`);
    await expectNoPartialFiles(dir);
  });

  it('fails when the connection is refused', async () => {
    // A port nothing listens on: free a moment ago.
    const port = await freePort();
    const dir = await dataDir();
    const app = await start({ DATA_DIR: dir, OS_IMAGES: catalog({ url: `http://127.0.0.1:${port}/x.iso` }) });
    const state = await settled(app);
    expect(state.reason).toMatch(/ECONNREFUSED/);
    await expectNoPartialFiles(dir);
  });

  it('keeps serving the other images when one fails, and retries the failed one with backoff', async () => {
    const source = await mirror();
    source.route('/ok.iso', { kind: 'file', path: good.path });
    source.route('/flaky.iso', { kind: 'status', status: 503 });
    const dir = await dataDir();
    const app = await start(
      {
        DATA_DIR: dir,
        OS_IMAGES: catalog({ url: source.url('/ok.iso') }, { url: source.url('/flaky.iso'), arch: 'arm64' }),
      },
      { retryBaseMs: 300, retryMaxMs: 1_000 },
    );
    const armName = `rhcos-full-iso-${VERSION}-arm64.iso`;
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    expect(await settled(app, armName)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/HTTP 503/) });
    // Ready: one image is, and the failed one is listed with its reason.
    const degraded = await health(app);
    expect(degraded.code).toBe(200);
    // The retry may be under way by now: its state then names the failure it follows.
    const arm = degraded.body.details.images[armName];
    const failure =
      typeof arm === 'object' ? (arm.status === 'failed' ? arm.reason : arm.lastFailure?.reason) : undefined;
    expect(failure).toMatch(/HTTP 503/);

    source.route('/flaky.iso', { kind: 'file', path: good.path });
    await waitFor(
      async () => ((await imageState(app, armName)).status === 'ready' ? true : undefined),
      10_000,
      'the retry',
    );
    expect((await health(app)).code).toBe(200);
    expect(source.requests.filter((request) => request.path === '/flaky.iso').length).toBeGreaterThanOrEqual(2);
  });

  it('downloads an image named by several entries once', async () => {
    const source = await mirror();
    source.route('/x.iso', { kind: 'file', path: good.path });
    const dir = await dataDir();
    const app = await start({
      DATA_DIR: dir,
      OS_IMAGES: catalog(
        { url: source.url('/x.iso'), openshift: '4.17' },
        { url: source.url('/x.iso'), openshift: '4.18' },
      ),
    });
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    expect(source.requests).toHaveLength(1);
    expect(Object.keys((await health(app)).body.details.images).filter((key) => key !== 'status')).toEqual([FILE_NAME]);
  });

  it('copies from a file:// URL', async () => {
    const dir = await dataDir();
    const app = await start({
      DATA_DIR: dir,
      RHCOS_VERSIONS: JSON.stringify({ '4.6': { iso_url: `file://${good.path}` } }),
    });
    expect(await settled(app, 'rhcos-full-iso-4.6-x86_64.iso')).toMatchObject({ status: 'ready' });
    expect(await sha256Of(join(dir, 'rhcos-full-iso-4.6-x86_64.iso'))).toBe(goodSha);
  });

  it('trusts OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE for https, refuses an unknown CA, and skips verification when told', async () => {
    const source = await mirror(certs);
    source.route('/x.iso', { kind: 'file', path: good.path });
    const trusted = await start({
      DATA_DIR: await dataDir(),
      OS_IMAGES: catalog({ url: source.url('/x.iso') }),
      OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE: certs.caFile,
    });
    expect(await settled(trusted)).toMatchObject({ status: 'ready' });
    const untrusted = await start({ DATA_DIR: await dataDir(), OS_IMAGES: catalog({ url: source.url('/x.iso') }) });
    expect(await settled(untrusted)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/certificate/i) });
    const insecure = await start({
      DATA_DIR: await dataDir(),
      OS_IMAGES: catalog({ url: source.url('/x.iso') }),
      INSECURE_SKIP_VERIFY: 'true',
    });
    expect(await settled(insecure)).toMatchObject({ status: 'ready' });
  });
});

describe('the data directory at start', () => {
  it('removes cache files the catalog does not need, keeps what the cache did not write', async () => {
    const source = await mirror();
    source.route('/x.iso', { kind: 'file', path: good.path });
    const dir = await dataDir();
    await writeFile(join(dir, 'rhcos-full-iso-old-x86_64.iso'), 'old');
    await writeFile(join(dir, `${FILE_NAME}.part`), 'interrupted');
    await writeFile(join(dir, 'rhcos-minimal-iso-418-x86_64.iso'), 'stale template');
    await symlink('/etc/hostname', join(dir, 'a-link'));
    await writeFile(join(dir, '.keep'), '');
    await mkdir(join(dir, 'lost+found'));
    const app = await start({ DATA_DIR: dir, OS_IMAGES: catalog({ url: source.url('/x.iso') }) });
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    expect((await readdir(dir)).sort()).toEqual(
      ['.keep', 'a-link', 'lost+found', FILE_NAME, NMSTATE_NAME, VERIFIED_NAME].sort(),
    );
    expect(app.logs.some((line) => line.includes('removed rhcos-full-iso-old-x86_64.iso'))).toBe(true);
  });

  it('reuses a valid cached file without downloading, and re-fetches an invalid one', async () => {
    const source = await mirror();
    source.route('/x.iso', { kind: 'file', path: good.path });
    const cachedDir = await dataDir();
    await writeFile(join(cachedDir, FILE_NAME), await readFile(good.path));
    const cached = await start({ DATA_DIR: cachedDir, OS_IMAGES: catalog({ url: source.url('/x.iso') }) });
    expect(await settled(cached)).toMatchObject({ status: 'ready' });
    expect(source.requests).toHaveLength(0);

    const brokenDir = await dataDir();
    await writeFile(join(brokenDir, FILE_NAME), (await readFile(good.path)).subarray(0, 40_000));
    const refetched = await start({ DATA_DIR: brokenDir, OS_IMAGES: catalog({ url: source.url('/x.iso') }) });
    expect(await settled(refetched)).toMatchObject({ status: 'ready' });
    expect(source.requests).toHaveLength(1);
    expect(await sha256Of(join(brokenDir, FILE_NAME))).toBe(goodSha);
  });
});

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}
