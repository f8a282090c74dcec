import { randomBytes } from 'node:crypto';
import { rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet, jsonOf } from './support/http-client.js';
import { fakeJwt } from './support/jwt.js';
import { openDownload, readAtLeast } from './support/raw-download.js';
import { IsoSourceServer } from './support/iso-source-server.js';
import { startTestApp, waitFor } from './support/test-app.js';

const OK = '11111111-2222-4333-8444-555555555555';
const KARGS = '22222222-3333-4444-8555-666666666666';
const PRIVATE = '33333333-4444-4555-8666-777777777777';
const HUGE = '44444444-5555-4666-8777-888888888888';
const LONG_KARGS = '55555555-6666-4777-8888-999999999999';
const BAD_KARGS = '66666666-7777-4888-8999-aaaaaaaaaaaa';
const FAULTY = '77777777-8888-4999-8aaa-bbbbbbbbbbbb';
const UNKNOWN = '99999999-9999-4999-8999-999999999999';
const IGNITION = '{"ignition":{"version":"3.2.0"}}';

let env: DownloadEnv;

beforeAll(async () => {
  env = await startDownloadEnv({
    fixtures: [
      { name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' },
      { name: 's390x', openshiftVersion: '4.18', version: '418.94.1-0', arch: 's390x' },
      { name: 'agent', openshiftVersion: '4.18', version: '418.94.1-0', type: 'disconnected-iso' },
    ],
    infraEnvs: [
      { id: OK, ignition: IGNITION },
      { id: KARGS, ignition: IGNITION, kernelArguments: '[{"operation":"append","value":"a=1"}]' },
      { id: PRIVATE, ignition: IGNITION, credentials: { authorization: 'Bearer right' } },
      // Random bytes do not compress: the payload outgrows the 256 KiB Ignition area.
      { id: HUGE, ignition: randomBytes(300 * 1024).toString('base64') },
      {
        id: LONG_KARGS,
        ignition: IGNITION,
        kernelArguments: JSON.stringify([{ operation: 'append', value: `x=${'y'.repeat(2000)}` }]),
      },
      { id: BAD_KARGS, ignition: IGNITION, kernelArguments: '[{"operation":"replace","value":"a"}]' },
      { id: FAULTY, ignition: IGNITION },
    ],
    appOptions: { assisted: { client: { timeoutMs: 1_000 } } },
  });
});

afterAll(async () => {
  await env.close();
});

interface Row {
  readonly name: string;
  readonly path: string;
  readonly status: number;
  readonly message?: RegExp;
  readonly headers?: Record<string, string>;
}

const ROWS: Row[] = [
  { name: 'the plain request (no type, no arch)', path: `/images/${OK}?version=4.18`, status: 200 },
  { name: 'an arch alias', path: `/images/${OK}?version=4.18&arch=amd64`, status: 200 },
  { name: 'the RHCOS version', path: `/images/${OK}?version=418.94.1-0&type=full-iso`, status: 200 },
  { name: 'a disconnected ISO', path: `/images/${OK}?version=4.18&type=disconnected-iso`, status: 200 },
  { name: 'a missing version', path: `/images/${OK}`, status: 400, message: /version is required/ },
  {
    name: 'a repeated version',
    path: `/images/${OK}?version=4.18&version=4.17`,
    status: 400,
    message: /version must be given once, as a string/,
  },
  {
    name: 'an unknown type',
    path: `/images/${OK}?version=4.18&type=floppy`,
    status: 400,
    message: /type must be one of full-iso, minimal-iso, disconnected-iso/,
  },
  {
    name: 'an id that is not a lowercase UUID',
    path: `/images/${FAULTY.toUpperCase()}?version=4.18`,
    status: 400,
    message: /lowercase UUID/,
  },
  {
    name: 'an unknown version',
    path: `/images/${OK}?version=4.99`,
    status: 404,
    message: /no full-iso image for version "4\.99"/,
  },
  {
    name: 'an unknown arch',
    path: `/images/${OK}?version=4.18&arch=sparc`,
    status: 404,
    message: /architecture "sparc"/,
  },
  { name: 'an arch without that version', path: `/images/${OK}?version=4.18&arch=arm64`, status: 404 },
  {
    name: 'kargs on s390x',
    path: `/images/${KARGS}?version=4.18&arch=s390x`,
    status: 400,
    message: /s390x images cannot take extra kernel arguments/,
  },
  { name: 's390x without kargs', path: `/images/${OK}?version=4.18&arch=s390x`, status: 200 },
  {
    name: 'an Ignition larger than the area',
    path: `/images/${HUGE}?version=4.18`,
    status: 400,
    message: /larger than the ISO's 262144-byte Ignition area/,
  },
  {
    name: 'kargs that do not fit',
    path: `/images/${LONG_KARGS}?version=4.18`,
    status: 400,
    message: /kernel argument|kargs|bytes/i,
  },
  {
    name: 'kernel_arguments with a replace operation',
    path: `/images/${BAD_KARGS}?version=4.18`,
    status: 502,
    message: /"replace" is not supported/,
  },
  {
    name: 'an infra-env assisted-service does not know',
    path: `/images/${UNKNOWN}?version=4.18`,
    status: 404,
    message: /not found/,
  },
  { name: 'a missing credential', path: `/images/${PRIVATE}?version=4.18`, status: 401 },
  {
    name: 'a wrong credential',
    path: `/images/${PRIVATE}?version=4.18`,
    status: 401,
    headers: { authorization: 'Bearer wrong' },
  },
  {
    name: 'the right credential',
    path: `/images/${PRIVATE}?version=4.18`,
    status: 200,
    headers: { authorization: 'Bearer right' },
  },
  { name: 'a byid short URL', path: `/byid/${OK}/4.18/x86_64/full.iso`, status: 200 },
  { name: 'a byid short URL for the disconnected ISO', path: `/byid/${OK}/4.18/x86_64/disconnected.iso`, status: 200 },
  {
    name: 'a short URL with an unknown file name',
    path: `/byid/${OK}/4.18/x86_64/other.iso`,
    status: 404,
    message: /unknown file name/,
  },
  {
    name: 'a byid short URL with a non-UUID id',
    path: `/byid/..%2F..%2Fetc/4.18/x86_64/full.iso`,
    status: 404,
    message: /lowercase UUID/,
  },
  {
    name: 'a bytoken URL whose sub is the id',
    path: `/bytoken/${fakeJwt({ sub: OK })}/4.18/x86_64/full.iso`,
    status: 200,
  },
  {
    name: 'a byapikey URL with infra_env_id',
    path: `/byapikey/${fakeJwt({ sub: 'user@example.com', infra_env_id: OK })}/4.18/x86_64/full.iso`,
    status: 200,
  },
  { name: 'a token that does not parse', path: `/bytoken/not-a-jwt/4.18/x86_64/full.iso`, status: 404 },
  {
    name: 'a token whose id is not a UUID',
    path: `/bytoken/${fakeJwt({ sub: '../../admin' })}/4.18/x86_64/full.iso`,
    status: 404,
  },
  { name: 'a short URL with an unknown version', path: `/byid/${OK}/4.99/x86_64/full.iso`, status: 404 },
];

describe('status codes of the image routes', () => {
  it.each(ROWS)('$name → $status', async ({ path, status, message, headers }) => {
    const response = await httpGet(`${env.app.baseUrl}${path}`, { headers });
    expect(response.status).toBe(status);
    if (status >= 400) {
      const body = jsonOf(response);
      expect(body.statusCode).toBe(status);
      expect(body.message).toEqual(expect.any(String));
      if (message) expect(body.message).toMatch(message);
    }
  });

  it('never calls assisted-service for a token that names no UUID', async () => {
    const before = env.assisted.calls.length;
    await httpGet(`${env.app.baseUrl}/bytoken/${fakeJwt({ sub: '../../x' })}/4.18/x86_64/full.iso`);
    await httpGet(`${env.app.baseUrl}/byapikey/garbage/4.18/x86_64/full.iso`);
    expect(env.assisted.calls.length).toBe(before);
  });

  it('names the file for the image type', async () => {
    const full = await httpGet(`${env.app.baseUrl}/images/${OK}?version=4.18`, { method: 'HEAD' });
    expect(full.headers['content-disposition']).toBe(`attachment; filename=${OK}-discovery.iso`);
    const agent = await httpGet(`${env.app.baseUrl}/images/${OK}?version=4.18&type=disconnected-iso`, {
      method: 'HEAD',
    });
    expect(agent.headers['content-disposition']).toBe('attachment; filename=agent-ove.x86_64.iso');
  });

  it.each([
    [403, 403],
    [500, 500],
    [404, 404],
    [503, 503],
  ])('passes assisted-service %i on as %i', async (upstream, expected) => {
    env.assisted.setFault('ignition', { kind: 'status', status: upstream, body: `upstream says ${upstream}` });
    try {
      const response = await httpGet(`${env.app.baseUrl}/images/${FAULTY}?version=4.18&api_key=k${upstream}`);
      expect(response.status).toBe(expected);
      expect(jsonOf(response).message).toMatch(new RegExp(`upstream says ${upstream}`));
    } finally {
      env.assisted.setFault('ignition', undefined);
    }
  });

  it('answers 504 when assisted-service does not answer in time', async () => {
    env.assisted.setFault('ignition', { kind: 'hang' });
    try {
      const response = await httpGet(`${env.app.baseUrl}/images/${FAULTY}?version=4.18&api_key=hang`);
      expect(response.status).toBe(504);
      expect(jsonOf(response).message).toMatch(/did not answer .* within 1000 ms/);
    } finally {
      env.assisted.setFault('ignition', undefined);
    }
  });

  it('answers 502 when assisted-service resets the connection', async () => {
    env.assisted.setFault('infra-env', { kind: 'reset' });
    try {
      expect((await httpGet(`${env.app.baseUrl}/images/${FAULTY}?version=4.18&api_key=reset`)).status).toBe(502);
    } finally {
      env.assisted.setFault('infra-env', undefined);
    }
  });

  it('answers 502 when assisted-service cannot be reached, and keeps serving', async () => {
    const unreachable = await startTestApp({
      DATA_DIR: join(env.work, 'data'),
      OS_IMAGES: JSON.stringify([
        {
          openshift_version: '4.18',
          cpu_architecture: 'x86_64',
          url: `file://${env.isos.x86?.path ?? ''}`,
          version: '418.94.1-0',
        },
      ]),
      ASSISTED_SERVICE_URL: 'http://127.0.0.1:1',
    });
    try {
      await unreachable.app.get((await import('../src/versions/image-cache.service.js')).ImageCacheService).startSync();
      const response = await httpGet(`${unreachable.baseUrl}/images/${OK}?version=4.18`);
      expect(response.status).toBe(502);
      expect(jsonOf(response).message).toMatch(/ECONNREFUSED|refused|reach/i);
      expect((await httpGet(`${unreachable.baseUrl}/live`)).status).toBe(200);
    } finally {
      await unreachable.close();
    }
  });
});

describe('before the cache is ready, and when the cached file breaks', () => {
  it("answers 503 with Retry-After and the image's progress while it is still downloading", async () => {
    const mirror = await new IsoSourceServer().listen();
    mirror.route('/slow.iso', { kind: 'stall', path: env.isos.x86?.path ?? '', afterBytes: 1024 });
    const app = await startTestApp(
      {
        DATA_DIR: join(env.work, 'data-not-ready'),
        OS_IMAGES: JSON.stringify([
          {
            openshift_version: '4.18',
            cpu_architecture: 'x86_64',
            url: mirror.url('/slow.iso'),
            version: '418.94.1-0',
          },
        ]),
        ASSISTED_SERVICE_URL: env.assisted.url,
      },
      // The stalled download must stay a download for as long as the test looks at it.
      { syncOptions: { idleTimeoutMs: 120_000 } },
    );
    try {
      const file = 'rhcos-full-iso-418.94.1-0-x86_64.iso';
      const bytesDone = async (): Promise<number> => {
        const body = (await (await fetch(`${app.baseUrl}/health`)).json()) as {
          details: { images: Record<string, { bytesDone?: number }> };
        };
        return body.details.images[file]?.bytesDone ?? 0;
      };
      await waitFor(
        async () => ((await bytesDone()) > 0 ? true : undefined),
        20_000,
        'the first bytes of the download',
      );
      const response = await httpGet(`${app.baseUrl}/images/${OK}?version=4.18`);
      expect(response.status).toBe(503);
      expect(response.headers['retry-after']).toBe('30');
      expect(jsonOf(response).message).toBe(`${file} is not ready: it is downloading (0 %)`);
    } finally {
      await app.close();
      await mirror.close();
    }
  });

  it('answers HEAD without reading the file, a GET whose file is gone with a JSON 500, and cuts a stream that breaks midway', async () => {
    const broken = await startDownloadEnv({
      fixtures: [
        { name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0', iso: { rootfsSizeBytes: 16 * 1024 * 1024 } },
      ],
      infraEnvs: [{ id: OK, ignition: IGNITION }],
    });
    try {
      const url = `${broken.app.baseUrl}/images/${OK}?version=4.18`;
      const cached = join(broken.work, 'data', 'rhcos-full-iso-418.94.1-0-x86_64.iso');

      const started = openDownload(url);
      const response = await started.response;
      expect(response.statusCode).toBe(200);
      await readAtLeast(response, 1);
      await truncate(cached, 4 * 1024 * 1024);
      const outcome = await new Promise<string>((resolve) => {
        response.resume();
        response.once('end', () => resolve('complete'));
        response.once('aborted', () => resolve('cut'));
        response.once('error', () => resolve('cut'));
      });
      expect(outcome).toBe('cut');

      await rm(cached);
      const head = await httpGet(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(Number(head.headers['content-length'])).toBe(broken.isos.x86?.size);
      const get = await httpGet(url);
      expect(get.status).toBe(500);
      expect(jsonOf(get).message).toMatch(/reading the image failed/);
      expect((await httpGet(`${broken.app.baseUrl}/live`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});
