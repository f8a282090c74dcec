import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet } from './support/http-client.js';
import { fakeJwt } from './support/jwt.js';
import type { RecordedCall } from './support/fake-assisted-service.js';

const ID = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const IGNITION = '{"ignition":{"version":"3.2.0"}}';

let env: DownloadEnv;

beforeAll(async () => {
  env = await startDownloadEnv({
    fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' }],
    infraEnvs: [{ id: ID, ignition: IGNITION, kernelArguments: '[{"operation":"append","value":"k=v"}]' }],
  });
});

afterAll(async () => {
  await env.close();
});

function base(): string {
  return env.app.baseUrl;
}

interface CredentialCase {
  readonly name: string;
  readonly secret: string;
  readonly url: () => string;
  readonly headers?: Record<string, string>;
  readonly placed: (call: RecordedCall) => string | undefined;
}

const apiKeyJwt = fakeJwt({ infra_env_id: ID, sub: 'user-1', secret: 'api-key-path-secret' });
const tokenJwt = fakeJwt({ sub: ID, secret: 'token-path-secret' });

const CASES: CredentialCase[] = [
  {
    name: 'the api_key path segment (byapikey)',
    secret: apiKeyJwt,
    url: () => `${base()}/byapikey/${apiKeyJwt}/4.18/x86_64/full.iso`,
    placed: (call) => call.query.get('api_key') ?? undefined,
  },
  {
    name: 'the api_key query parameter',
    secret: 'query-api-key-7f3a',
    url: () => `${base()}/images/${ID}?version=4.18&api_key=query-api-key-7f3a`,
    placed: (call) => call.query.get('api_key') ?? undefined,
  },
  {
    name: 'the token path segment (bytoken)',
    secret: tokenJwt,
    url: () => `${base()}/bytoken/${tokenJwt}/4.18/x86_64/full.iso`,
    placed: (call) => headerOf(call, 'image-token'),
  },
  {
    name: 'the image_token query parameter',
    secret: 'query-image-token-9b2c',
    url: () => `${base()}/images/${ID}?version=4.18&image_token=query-image-token-9b2c`,
    placed: (call) => headerOf(call, 'image-token'),
  },
  {
    name: 'the Authorization header',
    secret: 'Bearer header-bearer-4d8e',
    url: () => `${base()}/byid/${ID}/4.18/x86_64/full.iso`,
    headers: { authorization: 'Bearer header-bearer-4d8e' },
    placed: (call) => headerOf(call, 'authorization'),
  },
];

function headerOf(call: RecordedCall, name: string): string | undefined {
  const value = call.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

describe('credentials are passed through to assisted-service, and never logged', () => {
  it.each(CASES)('$name reaches every call in the right place', async ({ secret, url, headers, placed }) => {
    const before = env.assisted.calls.length;
    const response = await httpGet(url(), { headers });
    expect(response.status).toBe(200);
    const calls = env.assisted.calls.slice(before);
    expect(calls.map((call) => call.kind).sort()).toEqual(['ignition', 'infra-env']);
    for (const call of calls) {
      expect(placed(call)).toBe(secret);
      // Only one place: no credential leaks into the others.
      const places = [call.query.get('api_key'), headerOf(call, 'image-token'), headerOf(call, 'authorization')].filter(
        (value) => value !== null && value !== undefined,
      );
      expect(places).toEqual([secret]);
    }
    const ignition = calls.find((call) => call.kind === 'ignition');
    expect(ignition?.query.get('file_name')).toBe('discovery.ign');
    expect(ignition?.query.get('discovery_iso_type')).toBe('full-iso');
  });

  it('the api_key wins over the image token, which wins over Authorization', async () => {
    const before = env.assisted.calls.length;
    await httpGet(`${base()}/images/${ID}?version=4.18&api_key=first-key&image_token=second-token`, {
      headers: { authorization: 'Bearer third' },
    });
    const [call] = env.assisted.calls.slice(before);
    expect(call?.query.get('api_key')).toBe('first-key');
    expect(headerOf(call as RecordedCall, 'image-token')).toBeUndefined();
    expect(headerOf(call as RecordedCall, 'authorization')).toBeUndefined();
  });

  it('no credential of this file appears in the captured logs', () => {
    const logs = env.app.logs.join('\n');
    expect(logs).toContain('HttpRequest');
    for (const { secret } of CASES) {
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(secret.replace('Bearer ', ''));
    }
    for (const fragment of ['api-key-path-secret', 'token-path-secret', 'first-key', 'second-token'])
      expect(logs).not.toContain(fragment);
  });
});

describe('assisted-service call metrics', () => {
  it('counts calls by kind and status and times them', async () => {
    await httpGet(`${base()}/images/${ID}?version=4.18&api_key=metrics-1`, { method: 'HEAD' });
    await httpGet(`${base()}/images/00000000-0000-4000-8000-000000000000?version=4.18&api_key=metrics-2`, {
      method: 'HEAD',
    });
    const text = (await httpGet(`${base()}/metrics`)).body.toString();
    expect(text).toMatch(/^assisted_image_service_assisted_requests_total\{call="ignition",code="200"\} [1-9]/m);
    expect(text).toMatch(/^assisted_image_service_assisted_requests_total\{call="infra-env",code="200"\} [1-9]/m);
    expect(text).toMatch(/^assisted_image_service_assisted_requests_total\{call="ignition",code="404"\} [1-9]/m);
    expect(text).toMatch(/^assisted_image_service_assisted_request_duration_seconds_count\{call="ignition"\} [1-9]/m);
    expect(text).not.toContain('metrics-1');
  });
});

describe('the customisation cache', () => {
  it('answers 1,000 Range requests on one URL with one assisted-service call per kind', async () => {
    const key = 'cache-key-1000';
    const url = `${base()}/images/${ID}?version=4.18&api_key=${key}`;
    const size = env.isos.x86?.size ?? 0;
    const ranges = Array.from({ length: 1000 }, (_, i) => (i * 65_536 * 7) % (size - 65_536));
    for (let batch = 0; batch < ranges.length; batch += 25) {
      const statuses = await Promise.all(
        ranges
          .slice(batch, batch + 25)
          .map(
            async (start) => (await httpGet(url, { headers: { range: `bytes=${start}-${start + 65_535}` } })).status,
          ),
      );
      expect(new Set(statuses)).toEqual(new Set([206]));
    }
    const calls = env.assisted.calls.filter((call) => call.query.get('api_key') === key);
    expect(calls.filter((call) => call.kind === 'ignition')).toHaveLength(1);
    expect(calls.filter((call) => call.kind === 'infra-env')).toHaveLength(1);
  });

  it('makes a different credential pay for its own calls', async () => {
    for (const key of ['cred-a', 'cred-b', 'cred-a', 'cred-b'])
      expect((await httpGet(`${base()}/images/${ID}?version=4.18&api_key=${key}`, { method: 'HEAD' })).status).toBe(
        200,
      );
    for (const key of ['cred-a', 'cred-b']) {
      expect(
        env.assisted.calls.filter((call) => call.kind === 'ignition' && call.query.get('api_key') === key),
      ).toHaveLength(1);
    }
  });

  it('does not cache an assisted-service error', async () => {
    const url = `${base()}/images/${ID}?version=4.18&api_key=error-once`;
    env.assisted.setFault('ignition', { kind: 'status', status: 500 });
    expect((await httpGet(url, { method: 'HEAD' })).status).toBe(500);
    env.assisted.setFault('ignition', undefined);
    expect((await httpGet(url, { method: 'HEAD' })).status).toBe(200);
    expect((await httpGet(url, { method: 'HEAD' })).status).toBe(200);
    expect(
      env.assisted.calls.filter((call) => call.kind === 'ignition' && call.query.get('api_key') === 'error-once'),
    ).toHaveLength(2);
  });

  it('calls assisted-service every time when CUSTOMIZATION_CACHE_TTL_SECONDS is 0', async () => {
    const uncached = await startDownloadEnv({
      fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' }],
      infraEnvs: [{ id: ID, ignition: IGNITION }],
      env: { CUSTOMIZATION_CACHE_TTL_SECONDS: '0' },
    });
    try {
      for (let i = 0; i < 3; i++)
        expect(
          (await httpGet(`${uncached.app.baseUrl}/images/${ID}?version=4.18`, { headers: { range: 'bytes=0-9' } }))
            .status,
        ).toBe(206);
      expect(uncached.assisted.callsOf('ignition')).toHaveLength(3);
    } finally {
      await uncached.close();
    }
  });
});
