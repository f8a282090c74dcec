// The fast lane answers a download request the application answered before (docs/architecture.md, "The fast lane"):
// its answers, log lines and metrics must be the application's, and it must never answer what the application would
// answer differently now — another credential, an expired customisation, a CORS request, a busy service.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet, type RawResponse, type RequestOptions } from './support/http-client.js';
import { openDownload } from './support/raw-download.js';
import { buildNewcArchive } from '../src/iso/index.js';

const ID = '3f6c1e2a-5b4d-4c8e-9f0a-1b2c3d4e5f60';
const RHCOS = '418.94.1-0';
const IGNITION = JSON.stringify({ ignition: { version: '3.2.0' }, nonce: randomBytes(512).toString('base64') });
const RAMDISK = buildNewcArchive([
  { path: 'etc/assisted/network/eth0.nmconnection', data: Buffer.from('[ipv4]\n'), mode: 0o100600 },
]);
const MODIFIED = new Date('2026-10-01T08:00:00Z');

const ROUTES = {
  'full ISO': `/images/${ID}?version=4.18&type=full-iso`,
  'minimal ISO': `/byid/${ID}/4.18/x86_64/minimal.iso`,
  'PXE initrd': `/images/${ID}/pxe-initrd?version=4.18`,
  'boot artifact': `/boot-artifacts/rootfs?version=${RHCOS}&arch=x86_64`,
} as const;

let env: DownloadEnv;

beforeAll(async () => {
  env = await startDownloadEnv({
    // A rootfs large enough that four stalled downloads stay in progress and hold their slots.
    fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: RHCOS, iso: { rootfsSizeBytes: 64 * 1024 * 1024 } }],
    infraEnvs: [
      {
        id: ID,
        ignition: IGNITION,
        ramdisk: RAMDISK,
        kernelArguments: '[{"operation":"append","value":"lane=1"}]',
        lastModified: MODIFIED,
      },
    ],
    env: {
      CUSTOMIZATION_CACHE_TTL_SECONDS: '600',
      MAX_CONCURRENT_REQUESTS: '4',
      MAX_QUEUE_WAIT_SECONDS: '1',
      IMAGE_SERVICE_BASE_URL: 'http://images.example.com',
    },
  });
});

afterAll(async () => {
  await env.close();
});

/** The lane's own count: how a test tells who answered. */
async function laneAnswers(): Promise<number> {
  const text = await (await fetch(`${env.app.baseUrl}/metrics`)).text();
  return Number(/^assisted_image_service_fast_lane_answers_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
}

/** The Authorization header makes the request new to the lane; boot artifacts ignore it, ISOs pass it upstream. */
function freshCredential(): Record<string, string> {
  return { Authorization: `Bearer ${randomBytes(12).toString('hex')}` };
}

/** The HttpRequest log lines written since `mark`, as parsed objects. */
function requestLines(mark: number): Record<string, unknown>[] {
  return env.app.logs
    .slice(mark)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.context === 'HttpRequest');
}

function comparable(response: RawResponse): { status: number; headers: Record<string, unknown>; bytes: string } {
  const { date, ...headers } = response.headers;
  expect(date).toBeDefined();
  return { status: response.status, headers, bytes: response.body.toString('base64') };
}

/** A log line without what differs between two answers of the same request: when, and how long it took. */
function withoutTiming(line: Record<string, unknown> | undefined): Record<string, unknown> {
  expect(line?.durationMs).toEqual(expect.any(Number));
  return Object.fromEntries(Object.entries(line ?? {}).filter(([key]) => key !== 'durationMs' && key !== 'time'));
}

interface Pair {
  readonly byApplication: RawResponse;
  readonly byLane: RawResponse;
  readonly lines: Record<string, unknown>[];
}

/** The same request twice: the application answers the first, the lane the second. */
async function askTwice(path: string, options: RequestOptions): Promise<Pair> {
  const mark = env.app.logs.length;
  const before = await laneAnswers();
  const byApplication = await httpGet(`${env.app.baseUrl}${path}`, options);
  expect(await laneAnswers()).toBe(before);
  const byLane = await httpGet(`${env.app.baseUrl}${path}`, options);
  expect(await laneAnswers()).toBe(before + 1);
  const lines = requestLines(mark).filter((line) => line.route !== '/metrics');
  return { byApplication, byLane, lines };
}

describe.each(Object.entries(ROUTES))('the fast lane on the %s', (_name, path) => {
  it.each([
    ['a 64 KiB Range GET', 'GET', { Range: 'bytes=32768-98303' }, 206],
    ['a Range GET of the last bytes', 'GET', { Range: 'bytes=-1000' }, 206],
    ['a whole GET', 'GET', {}, 200],
    ['HEAD', 'HEAD', {}, 200],
    ['HEAD with a Range', 'HEAD', { Range: 'bytes=0-9' }, 206],
    ['If-Modified-Since in the future', 'GET', { 'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT' }, 304],
  ] as const)('answers %s exactly as the application does', async (_case, method, headers, status) => {
    const options = { method, headers: { ...headers, ...freshCredential(), 'User-Agent': 'lane-test/1' } };
    const { byApplication, byLane, lines } = await askTwice(path, options);
    expect(byApplication.status).toBe(status);
    expect(comparable(byLane)).toEqual(comparable(byApplication));
    expect(lines).toHaveLength(2);
    expect(withoutTiming(lines[1])).toEqual(withoutTiming(lines[0]));
  });
});

describe('what the fast lane leaves to the application', () => {
  const fullIso = `${ROUTES['full ISO']}`;

  it('never answers a request with another credential, and counts requests in the HTTP metrics', async () => {
    const one = freshCredential();
    await askTwice(fullIso, { headers: { ...one, Range: 'bytes=0-1023' } });
    const calls = env.assisted.calls.length;
    const before = await laneAnswers();
    const other = await httpGet(`${env.app.baseUrl}${fullIso}`, {
      headers: { ...freshCredential(), Range: 'bytes=0-1023' },
    });
    expect(other.status).toBe(206);
    expect(await laneAnswers()).toBe(before);
    expect(env.assisted.calls.length).toBeGreaterThan(calls);
    const metrics = await (await fetch(`${env.app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{method="GET",handler="\/images\/:image_id",code="206"\} [3-9]/,
    );
  });

  it('leaves 416 answers and CORS-free behaviour to the application', async () => {
    const credential = freshCredential();
    await askTwice(fullIso, { headers: { ...credential, Range: 'bytes=0-0' } });
    const before = await laneAnswers();
    const unsatisfiable = await httpGet(`${env.app.baseUrl}${fullIso}`, {
      headers: { ...credential, Range: 'bytes=999999999999-' },
    });
    expect(unsatisfiable.status).toBe(416);
    expect(JSON.parse(unsatisfiable.body.toString('utf8'))).toMatchObject({ statusCode: 416 });
    expect(await laneAnswers()).toBe(before);
  });

  it('takes a download slot like the application, and gives busy requests to the application to queue', async () => {
    const credential = freshCredential();
    await askTwice(fullIso, { headers: { ...credential, Range: 'bytes=0-0' } });
    const held = Array.from({ length: 4 }, () => openDownload(`${env.app.baseUrl}${fullIso}`, credential));
    try {
      await Promise.all(held.map((download) => download.response));
      const before = await laneAnswers();
      const busy = await httpGet(`${env.app.baseUrl}${fullIso}`, { headers: { ...credential, Range: 'bytes=0-0' } });
      expect(busy.status).toBe(503);
      expect(busy.headers['retry-after']).toBe('5');
      expect(await laneAnswers()).toBe(before);
    } finally {
      held.forEach((download) => download.abort());
    }
  });
});

describe('the fast lane and the customisation TTL', () => {
  it('stops answering once the customisation expires, so assisted-service is asked again', async () => {
    const short = await startDownloadEnv({
      fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: RHCOS }],
      infraEnvs: [{ id: ID, ignition: IGNITION }],
      env: { CUSTOMIZATION_CACHE_TTL_SECONDS: '1' },
    });
    try {
      const url = `${short.app.baseUrl}${ROUTES['full ISO']}`;
      const ranged = { headers: { Range: 'bytes=0-65535' } };
      expect((await httpGet(url, ranged)).status).toBe(206);
      const ignitionCalls = short.assisted.callsOf('ignition').length;
      expect(ignitionCalls).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect((await httpGet(url, ranged)).status).toBe(206);
      expect(short.assisted.callsOf('ignition')).toHaveLength(2);
    } finally {
      await short.close();
    }
  });
});
