import { readdir, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RequestSlots } from '../src/delivery/download-writer.js';
import { SharedDescriptors } from '../src/iso/index.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet } from './support/http-client.js';
import { openDownload, readAtLeast } from './support/raw-download.js';
import { seededRandom } from './iso/stream-fixtures.js';
import { waitFor } from './support/test-app.js';

const ID = '5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716';
const MAX_CONCURRENT = 3;

let env: DownloadEnv;
let url: string;

beforeAll(async () => {
  env = await startDownloadEnv({
    // A base big enough that a client which stops reading holds its response open.
    fixtures: [
      { name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0', iso: { rootfsSizeBytes: 24 * 1024 * 1024 } },
    ],
    infraEnvs: [{ id: ID, ignition: '{"ignition":{"version":"3.2.0"}}' }],
    env: { MAX_CONCURRENT_REQUESTS: String(MAX_CONCURRENT) },
  });
  url = `${env.app.baseUrl}/images/${ID}?version=4.18`;
});

afterAll(async () => {
  await env.close();
});

async function openDescriptors(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

/** Descriptors of this process open on cached images: a leaked download stream shows up here. */
async function imageDescriptors(): Promise<number> {
  const links = await Promise.all(
    (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return links.filter((target) => target.startsWith(`${env.work}/data/`)).length;
}

describe('resources held by downloads', () => {
  it('releases every file reference and slot after 200 downloads abandoned at random points', async () => {
    // Warm up so lazily created handles (agents, the first download) are in the baseline.
    expect((await httpGet(url, { method: 'HEAD' })).status).toBe(200);
    const baseline = await openDescriptors();
    const files = env.app.app.get(SharedDescriptors);
    const random = seededRandom(42);
    const size = env.isos.x86?.size ?? 0;
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const download = openDownload(url);
          const response = await download.response;
          await readAtLeast(response, Math.floor(random() * size * 0.9));
          download.abort();
        }),
      );
      // Released at once: within a moment of the client leaving, not whenever a garbage collection gets to it.
      await waitFor(async () => (files.usage.readers === 0 ? true : undefined), 2_000, 'file references to go');
      // Ten downloads at once of one image share one descriptor.
      expect(await imageDescriptors()).toBeLessThanOrEqual(1);
    }
    // Idle shared descriptors close once their idle time is over.
    files.sweep(Date.now() + 3_600_000);
    expect(await imageDescriptors()).toBe(0);
    const slots = env.app.app.get(RequestSlots);
    await waitFor(
      async () => ((await openDescriptors()) <= baseline && slots.inUse === 0 ? true : undefined),
      10_000,
      'descriptors to return to the baseline',
    );
    expect(await openDescriptors()).toBeLessThanOrEqual(baseline);
    expect(slots.inUse).toBe(0);
  });

  it('queues downloads beyond MAX_CONCURRENT_REQUESTS, and a client that leaves the queue frees its place', async () => {
    const slots = env.app.app.get(RequestSlots);
    const holders = Array.from({ length: MAX_CONCURRENT }, () => openDownload(url));
    const held = await Promise.all(holders.map((holder) => holder.response));
    expect(held.map((response) => response.statusCode)).toEqual(Array(MAX_CONCURRENT).fill(200));
    expect(slots.inUse).toBe(MAX_CONCURRENT);

    // Distinct credentials so neither is served from the customisation cache: each call shows who got through.
    const leaver = openDownload(`${url}&api_key=leaver`);
    const waiter = openDownload(`${url}&api_key=waiter`);
    await waitFor(() => (slots.waiting === 2 ? true : undefined), 5_000, 'two queued requests');
    leaver.abort();
    await waitFor(() => (slots.waiting === 1 ? true : undefined), 5_000, 'the leaver to leave the queue');
    let answered = false;
    void waiter.response.then(() => (answered = true));
    await sleep(200);
    expect(answered).toBe(false);

    holders[0]?.abort();
    const response = await waiter.response;
    expect(response.statusCode).toBe(200);
    expect(slots.waiting).toBe(0);
    // Only the waiter reached assisted-service; the client that left never did.
    const keys = env.assisted.callsOf('ignition').map((call) => call.query.get('api_key'));
    expect(keys.filter((key) => key === 'waiter')).toHaveLength(1);
    expect(keys).not.toContain('leaver');
    waiter.abort();
    for (const holder of holders) holder.abort();
    await waitFor(() => (slots.inUse === 0 ? true : undefined), 5_000, 'all slots back');
  });
});
