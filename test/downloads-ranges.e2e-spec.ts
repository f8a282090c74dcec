import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { customizableAreas } from './support/iso-areas.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet } from './support/http-client.js';

const ID = '0b7c9d2e-4f6a-4b8c-9d0e-1f2a3b4c5d6e';
const IGNITION = Buffer.from(
  JSON.stringify({
    ignition: { version: '3.2.0' },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAA test'] }] },
  }),
);

let env: DownloadEnv;
let full: Buffer;
let url: string;
let boundaries: number[];

beforeAll(async () => {
  env = await startDownloadEnv({
    fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' }],
    infraEnvs: [
      {
        id: ID,
        ignition: IGNITION,
        kernelArguments: '[{"operation":"append","value":"ranges=1"}]',
        lastModified: new Date('2026-01-02T03:04:05Z'),
      },
    ],
  });
  url = `${env.app.baseUrl}/images/${ID}?version=4.18`;
  const response = await httpGet(url);
  expect(response.status).toBe(200);
  full = response.body;
  const iso = env.isos.x86;
  const areas = await customizableAreas(
    iso?.path ?? '',
    'x86_64',
    ['EFI/redhat/grub.cfg', 'isolinux/isolinux.cfg'],
    iso?.defaultKargs ?? '',
  );
  boundaries = areas.flatMap((area) => [area.start, area.end - 1, area.end]);
});

afterAll(async () => {
  await env.close();
});

async function expectRange(header: string, start: number, end: number): Promise<void> {
  const response = await httpGet(url, { headers: { range: header } });
  expect(response.status).toBe(206);
  expect(response.headers['content-range']).toBe(`bytes ${start}-${end}/${full.length}`);
  expect(Number(response.headers['content-length'])).toBe(end - start + 1);
  expect(response.body.equals(full.subarray(start, end + 1))).toBe(true);
}

describe('byte ranges of a customised ISO', () => {
  it('serves HEAD with the exact length of the GET body and no body', async () => {
    const head = await httpGet(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(full.length);
    expect(head.body.length).toBe(0);
    expect(head.headers['accept-ranges']).toBe('bytes');
    expect(head.headers['last-modified']).toBe('Fri, 02 Jan 2026 03:04:05 GMT');
    expect(head.headers['content-disposition']).toBe(`attachment; filename=${ID}-discovery.iso`);
  });

  it('serves the first byte, the last byte, the whole file and open-ended ranges', async () => {
    const last = full.length - 1;
    await expectRange('bytes=0-0', 0, 0);
    await expectRange(`bytes=${last}-${last}`, last, last);
    await expectRange(`bytes=0-${last}`, 0, last);
    await expectRange(`bytes=0-${last + 1000}`, 0, last);
    await expectRange(`bytes=${last - 10}-`, last - 10, last);
  });

  it('serves suffix ranges bytes=-N', async () => {
    const last = full.length - 1;
    for (const n of [1, 2, 100, 65_536, full.length - 1, full.length])
      await expectRange(`bytes=-${n}`, full.length - n, last);
    await expectRange(`bytes=-${full.length + 5}`, 0, last);
  });

  it('serves ranges that start, end or lie inside a rewritten area, and ones across its edges', async () => {
    for (const edge of boundaries) {
      await expectRange(`bytes=${edge}-${edge}`, edge, edge);
      await expectRange(`bytes=${edge - 1}-${edge + 1}`, edge - 1, edge + 1);
      await expectRange(`bytes=${edge - 5000}-${edge + 70_000}`, edge - 5000, Math.min(edge + 70_000, full.length - 1));
    }
  });

  it('serves random ranges equal to the same slice of the full response', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: full.length - 1 }),
        fc.integer({ min: 0, max: 3 * 1024 * 1024 }),
        async (start, length) => {
          const end = Math.min(start + length, full.length - 1);
          await expectRange(`bytes=${start}-${end}`, start, end);
        },
      ),
      { numRuns: 150, seed: 20261125 },
    );
  });

  it('answers 416 with Content-Range bytes */size for a range past the end', async () => {
    const response = await httpGet(url, { headers: { range: `bytes=${full.length}-` } });
    expect(response.status).toBe(416);
    expect(response.headers['content-range']).toBe(`bytes */${full.length}`);
    expect(JSON.parse(response.body.toString()).message).toMatch(/cannot be satisfied/);
  });

  it('ignores a multi-range or malformed Range header and sends the whole file', async () => {
    for (const header of ['bytes=0-1,5-6', 'items=0-5', 'bytes=abc']) {
      const response = await httpGet(url, { headers: { range: header } });
      expect(response.status).toBe(200);
      expect(response.body.equals(full)).toBe(true);
    }
  });

  it('answers 304 to If-Modified-Since at or after Last-Modified, and 200 before it', async () => {
    expect((await httpGet(url, { headers: { 'if-modified-since': 'Fri, 02 Jan 2026 03:04:05 GMT' } })).status).toBe(
      304,
    );
    const newer = await httpGet(url, {
      headers: { 'if-modified-since': 'Sat, 03 Jan 2026 00:00:00 GMT', range: 'bytes=0-10' },
    });
    expect(newer.status).toBe(304);
    expect(newer.body.length).toBe(0);
    expect(
      (await httpGet(url, { headers: { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT', range: 'bytes=0-10' } }))
        .status,
    ).toBe(206);
  });
});
