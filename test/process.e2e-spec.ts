import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { spawnService } from './support/service-process.js';
import { freePort } from './support/free-port.js';
import { waitFor } from './support/test-app.js';

let work: string;
let iso: FixtureIso;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'process-e2e-'));
  iso = await buildFixtureIso({ outPath: join(work, 'base.iso') });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the built service as a process', () => {
  it.each([
    [{ LISTEN_PORT: 'eighty' }, 'LISTEN_PORT'],
    [{ PORT: '99999' }, 'PORT'],
    [{ RHCOS_VERSIONS: '{"4.6": {}}' }, 'RHCOS_VERSIONS'],
    [{ OS_IMAGES: '[{"openshift_version": "4.14"}]' }, 'OS_IMAGES'],
    [{ HTTPS_CERT_FILE: '/nonexistent/cert.pem', HTTPS_KEY_FILE: '/nonexistent/key.pem' }, 'HTTPS_CERT_FILE'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
    [{ LOG_LEVEL: ' ', LOGLEVEL: 'chatty' }, 'LOGLEVEL'],
    [{ OS_IMAGES_REQUEST_HEADERS: '{"Authorization": "s3cr3t", "retries": 3}' }, 'OS_IMAGES_REQUEST_HEADERS'],
    [{ OS_IMAGES_REQUEST_QUERY_PARAMS: '{"token": s3cr3t}' }, 'OS_IMAGES_REQUEST_QUERY_PARAMS'],
  ])('exits 1 with one line naming the variable for %j', async (env, variable) => {
    const service = spawnService({ DATA_DIR: join(work, 'unused'), ...env });
    expect(await service.exited).toBe(1);
    expect(service.stderr).toHaveLength(1);
    const line = JSON.parse(service.stderr[0] ?? '{}') as { level?: string; msg?: string };
    expect(line.level).toBe('error');
    expect(line.msg).toMatch(new RegExp(`^invalid configuration: ${variable}: `));
    expect(service.stderr[0]).not.toContain('s3cr3t');
    expect(service.stdout).toEqual([]);
  });

  it('serves the original configuration (PORT, the map form of RHCOS_VERSIONS), logs JSON lines, exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const service = spawnService({
      PORT: String(port),
      DATA_DIR: join(work, 'data'),
      RHCOS_VERSIONS: JSON.stringify({ '4.6': { iso_url: `file://${iso.path}` } }),
      ASSISTED_SERVICE_URL: 'http://127.0.0.1:1',
    });
    await service.waitForLine(/"msg":"rhcos-full-iso-4\.6-x86_64\.iso: downloaded/);
    // Readiness follows the download once the image is prepared (layout, template step).
    await waitFor(
      async () => ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200 ? true : undefined),
      20_000,
      'readiness',
    );
    for (const line of service.stdout) expect(() => JSON.parse(line) as unknown).not.toThrow();

    // A keep-alive connection held open by a client must not hold up the exit.
    const idle = request({
      host: '127.0.0.1',
      port,
      path: '/live',
      agent: false,
      headers: { connection: 'keep-alive' },
    });
    idle.end();
    await new Promise((resolve) => idle.once('response', (response) => response.resume().once('end', resolve)));

    service.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.stdout.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/live`)).rejects.toThrow();
  });
});
