import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet } from './support/http-client.js';

const ID = 'c0c0c0c0-1111-4222-8333-444455556666';
const ALLOWED = 'https://console.example.com';

describe('CORS on image and artifact routes', () => {
  let env: DownloadEnv;
  let off: DownloadEnv;

  beforeAll(async () => {
    const options = {
      fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' }],
      infraEnvs: [{ id: ID, ignition: '{"ignition":{"version":"3.2.0"}}' }],
    };
    [env, off] = await Promise.all([
      startDownloadEnv({ ...options, env: { ALLOWED_DOMAINS: `${ALLOWED},*.apps.example.org` } }),
      startDownloadEnv(options),
    ]);
  });

  afterAll(async () => {
    await Promise.all([env.close(), off.close()]);
  });

  it('lets an allowed origin read an image response, exposing the download headers', async () => {
    const response = await httpGet(`${env.app.baseUrl}/images/${ID}?version=4.18`, {
      method: 'HEAD',
      headers: { origin: ALLOWED },
    });
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(response.headers.vary).toMatch(/Origin/);
    expect(response.headers['access-control-expose-headers']).toMatch(/Content-Range/);
  });

  it('answers a preflight with 204, GET/HEAD, Authorization/Content-Type and max-age 600', async () => {
    for (const path of [
      `/images/${ID}?version=4.18`,
      '/boot-artifacts/rootfs?version=4.18',
      `/byid/${ID}/4.18/x86_64/full.iso`,
    ]) {
      const response = await httpGet(`${env.app.baseUrl}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://ui.apps.example.org',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe('https://ui.apps.example.org');
      expect(response.headers['access-control-allow-methods']).toBe('GET,HEAD');
      expect(response.headers['access-control-allow-headers']).toBe('Authorization,Content-Type');
      expect(response.headers['access-control-max-age']).toBe('600');
    }
  });

  it('gives a foreign origin no CORS headers', async () => {
    const get = await httpGet(`${env.app.baseUrl}/images/${ID}?version=4.18`, {
      method: 'HEAD',
      headers: { origin: 'https://evil.example.net' },
    });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await httpGet(`${env.app.baseUrl}/images/${ID}?version=4.18`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('adds nothing to the probes, nor anywhere when ALLOWED_DOMAINS is unset', async () => {
    const health = await httpGet(`${env.app.baseUrl}/health`, { headers: { origin: ALLOWED } });
    expect(health.headers['access-control-allow-origin']).toBeUndefined();
    const image = await httpGet(`${off.app.baseUrl}/images/${ID}?version=4.18`, {
      method: 'HEAD',
      headers: { origin: ALLOWED },
    });
    expect(image.status).toBe(200);
    expect(image.headers['access-control-allow-origin']).toBeUndefined();
  });
});
