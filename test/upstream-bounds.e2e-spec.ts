import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CustomizationService,
  customizationBytes,
  type Customization,
  type CustomizationNeeds,
} from '../src/assisted/customization.service.js';
import { UpstreamBodyBudget } from '../src/assisted/upstream-body.js';
import { ImageDownloadService } from '../src/images/image-download.service.js';
import type { VirtualFile } from '../src/iso/index.js';
import { IGNITION_AREA_SIZE } from './fixtures/iso-fixture.js';
import { extractWithXorriso } from './fixtures/xorriso.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet, jsonOf } from './support/http-client.js';
import { unpackWithSystemTools } from './support/payload-tools.js';
import { buildRamdisk } from './support/ramdisk.js';
import { waitFor } from './support/test-app.js';

const HUGE = 'b0d1e500-0000-4000-8000-000000000001';
const COMPRESSIBLE = 'b0d1e500-0000-4000-8000-000000000002';
const BIG_RAMDISK = 'b0d1e500-0000-4000-8000-000000000003';
const MEMO = 'b0d1e500-0000-4000-8000-000000000004';
const SMALL = 'b0d1e500-0000-4000-8000-000000000005';

const MiB = 1024 * 1024;
const RAMDISK_AREA = MiB;
/** Bodies in flight at once, for this app: room for the 8 MiB Ignition below, not for two 9 MiB ones. */
const BUDGET = 16 * MiB;
/** More than loopback socket buffers take in (~36 MiB here): a response the app gives up on stays unfinished. */
const BEYOND_SOCKET_BUFFERS = 64 * MiB;

/** 50 MB of random base64 characters: about 37 MB once compressed, nothing like the 256 KiB area. */
const HUGE_IGNITION = randomBase64(50_000_000);
/** 8 MiB that compress to a few KiB: far larger than the area, yet its payload fits. */
const COMPRESSIBLE_IGNITION = Buffer.concat([
  Buffer.from('{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/large","contents":{"source":"data:,'),
  Buffer.alloc(8 * MiB, '0123456789abcdef'),
  Buffer.from('"}}]}}'),
]);
const IGNITION = Buffer.from('{"ignition":{"version":"3.2.0"}}');
const MINIMAL_NEEDS: CustomizationNeeds = {
  ignitionAreaBytes: IGNITION_AREA_SIZE,
  ramdiskAreaBytes: RAMDISK_AREA,
  kernelArguments: true,
};

let env: DownloadEnv;
let ramdisk: Buffer;

beforeAll(async () => {
  ramdisk = await buildRamdisk({ 'etc/assisted/network/eth0.nmconnection': '[connection]\nid=eth0\n' });
  env = await startDownloadEnv({
    fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' }],
    infraEnvs: [
      { id: HUGE, ignition: HUGE_IGNITION },
      { id: COMPRESSIBLE, ignition: COMPRESSIBLE_IGNITION },
      { id: BIG_RAMDISK, ignition: IGNITION, ramdisk: Buffer.alloc(BEYOND_SOCKET_BUFFERS, 7) },
      { id: MEMO, ignition: IGNITION, ramdisk, kernelArguments: '[{"operation":"append","value":"memo.test=1"}]' },
      { id: SMALL, ignition: IGNITION },
    ],
    env: { IMAGE_SERVICE_BASE_URL: 'https://images.example.com/' },
    appOptions: { assisted: { client: { timeoutMs: 5_000, maxBodyBytesInFlight: BUDGET } } },
  });
});

afterAll(async () => {
  await env.close();
});

afterEach(async () => {
  for (const kind of ['ignition', 'minimal-initrd', 'infra-env'] as const) env.assisted.setFault(kind, undefined);
  await waitFor(() => (budget().inUse === 0 ? true : undefined), 20_000, 'every upstream body to give its bytes back');
});

function budget(): UpstreamBodyBudget {
  return env.app.app.get(UpstreamBodyBudget);
}

function url(id: string, query: string): string {
  return `${env.app.baseUrl}/images/${id}?version=4.18&${query}`;
}

function countOf(kind: 'ignition' | 'minimal-initrd' | 'infra-env', list: readonly string[]): number {
  return list.filter((item) => item === kind).length;
}

describe('an Ignition that cannot fit its area', () => {
  it('is refused with 400 on every request from one upstream call, abandoned early, without stalling the event loop', async () => {
    // Warm the request path up first (code compiled on first use, lazy modules): the measurement is about the
    // Ignition, not about the first request a process serves.
    expect((await httpGet(url(SMALL, 'api_key=warm-up'), { method: 'HEAD' })).status).toBe(200);
    const target = url(HUGE, 'api_key=huge-1');
    const callsBefore = env.assisted.callsOf('ignition').length;
    const abandonedBefore = countOf('ignition', env.assisted.abandoned);
    // 5 ms: enough samples over the half second this takes for a p99 that is not just the maximum.
    const delay = monitorEventLoopDelay({ resolution: 5 });
    const liveLatencies: number[] = [];
    const liveStatuses = new Set<number>();
    let polling = true;
    delay.enable();
    // /live is polled the whole time, every few milliseconds on a new connection, as a kubelet would (only faster).
    const poller = (async (): Promise<void> => {
      while (polling) {
        const started = performance.now();
        liveStatuses.add((await httpGet(`${env.app.baseUrl}/live`)).status);
        liveLatencies.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      for (let attempt = 0; attempt < 4; attempt += 1)
        expect((await httpGet(target, { method: 'HEAD' })).status).toBe(400);
      const get = await httpGet(target);
      expect(get.status).toBe(400);
      expect(jsonOf(get).message).toBe(
        "Ignition payload is more than 262144 bytes, larger than the ISO's 262144-byte Ignition area",
      );
      await waitFor(
        () => (countOf('ignition', env.assisted.abandoned) > abandonedBefore ? true : undefined),
        20_000,
        'the Ignition response to be abandoned',
      );
    } finally {
      polling = false;
      await poller;
      delay.disable();
    }
    const p99Ms = delay.percentile(99) / 1e6;
    const maxLiveMs = Math.max(...liveLatencies);
    console.info(
      `event-loop delay p99 ${p99Ms.toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms; /live polled ${liveLatencies.length} times, max ${maxLiveMs.toFixed(1)} ms`,
    );
    // One call for five requests: the refusal is remembered for the TTL like a customisation.
    expect(env.assisted.callsOf('ignition').length - callsBefore).toBe(1);
    expect([...liveStatuses]).toEqual([200]);
    expect(liveLatencies.length).toBeGreaterThan(0);
    expect(p99Ms).toBeLessThan(50);
  });
});

describe('an Ignition far larger than its area that compresses into it', () => {
  it('is served in the Ignition area, and the system tools extract it byte for byte', async () => {
    const response = await httpGet(url(COMPRESSIBLE, 'api_key=compressible'));
    expect(response.status).toBe(200);
    const iso = join(env.work, 'compressible.iso');
    await writeFile(iso, response.body);
    const area = await extractWithXorriso(iso, 'images/ignition.img');
    expect(area.length).toBe(IGNITION_AREA_SIZE);
    const config = (await unpackWithSystemTools(area)).get('config.ign');
    expect(config?.data.length).toBe(COMPRESSIBLE_IGNITION.length);
    expect(config?.data.equals(COMPRESSIBLE_IGNITION)).toBe(true);
  });
});

describe('other bodies past what can fit', () => {
  it('refuses a ramdisk over the 1 MiB area with 400, abandons it, and remembers it', async () => {
    const abandonedBefore = countOf('minimal-initrd', env.assisted.abandoned);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await httpGet(url(BIG_RAMDISK, 'type=minimal-iso&api_key=big-ramdisk'));
      expect(response.status).toBe(400);
      expect(jsonOf(response).message).toBe(
        `the static network ramdisk is ${BEYOND_SOCKET_BUFFERS} bytes, larger than the ${RAMDISK_AREA}-byte ramdisk area`,
      );
    }
    expect(
      env.assisted.callsOf('minimal-initrd').filter((call) => call.query.get('api_key') === 'big-ramdisk'),
    ).toHaveLength(1);
    await waitFor(
      () => (countOf('minimal-initrd', env.assisted.abandoned) > abandonedBefore ? true : undefined),
      20_000,
      'the ramdisk response to be abandoned',
    );
    // The PXE initrd takes the same ramdisk, held to the same standard area.
    const pxe = await httpGet(`${env.app.baseUrl}/images/${BIG_RAMDISK}/pxe-initrd?version=4.18&api_key=big-ramdisk`);
    expect(pxe.status).toBe(400);
    expect(jsonOf(pxe).message).toMatch(
      /static network ramdisk is \d+ bytes, larger than the 1048576-byte ramdisk area/,
    );
  });

  it('refuses an infra-env over 1 MiB with 502 and abandons it', async () => {
    const abandonedBefore = countOf('infra-env', env.assisted.abandoned);
    env.assisted.setFault('infra-env', {
      kind: 'body',
      body: `{"kernel_arguments":"${'x'.repeat(BEYOND_SOCKET_BUFFERS)}"}`,
    });
    const response = await httpGet(url(SMALL, 'api_key=big-infra-env'));
    expect(response.status).toBe(502);
    expect(jsonOf(response).message).toBe(
      "assisted-service's response for the infra-env is larger than the 1048576-byte limit; refusing it",
    );
    await waitFor(
      () => (countOf('infra-env', env.assisted.abandoned) > abandonedBefore ? true : undefined),
      20_000,
      'the infra-env response to be abandoned',
    );
  });
});

describe('the budget of upstream bodies in flight', () => {
  it('answers 503 with Retry-After when concurrent bodies would pass it, and frees it when they end', async () => {
    // 9 MiB that compress well (they fit the Ignition area), then silence: the first request holds its bytes.
    env.assisted.setFault('ignition', { kind: 'partial', body: Buffer.from(`{"data":"${'z'.repeat(9 * MiB)}`) });
    const holder = openRequest(url(SMALL, 'api_key=holder'));
    try {
      await waitFor(() => (budget().inUse >= 9 * MiB ? true : undefined), 20_000, 'the first body to be read');
      const refused = await httpGet(url(SMALL, 'api_key=refused'));
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(jsonOf(refused).message).toMatch(/16777216-byte memory budget is used up.*try again/);
      expect(budget().inUse).toBeGreaterThanOrEqual(9 * MiB);
      expect(budget().inUse).toBeLessThanOrEqual(BUDGET);
    } finally {
      // The client goes away: its upstream call is abandoned and its bytes come back (checked after each test).
      holder.destroy();
    }
  });
});

describe('memory a customisation holds', () => {
  it('is counted in the cache for 200 credentials, with zero-fills instead of zero buffers', async () => {
    const customizations = env.app.app.get(CustomizationService);
    const cache = env.app.app.get(CustomizationService);
    const downloads = env.app.app.get(ImageDownloadService);
    const callsBefore = env.assisted.callsOf('ignition').length;
    const bytesBefore = cache.usage.bytes;
    let lowerBound = 0;
    for (let index = 0; index < 200; index += 1) {
      const credential = { kind: 'api-key', value: `memo-${index}` } as const;
      const request = { infraEnvId: MEMO, version: '4.18', arch: 'x86_64', credential } as const;
      const before = cache.usage.bytes;
      const { file } = await downloads.iso('minimal-iso', request, new AbortController().signal);
      const charged = cache.usage.bytes - before;
      // Served from the cache (no new call), so `get` returns the very customisation the file was built from.
      const customization = await customizations.get(MEMO, 'minimal-iso', credential, MINIMAL_NEEDS);
      expectZeroFills(file, customization);
      const memo = charged - customizationBytes(customization);
      const ownPatches = patchBytes(file, customization);
      expect(ownPatches).toBeGreaterThan(0);
      expect(memo).toBeGreaterThanOrEqual(ownPatches);
      // A second request reuses the file: nothing more is built or charged.
      expect((await downloads.iso('minimal-iso', request, new AbortController().signal)).file).toBe(file);
      expect(cache.usage.bytes - before).toBe(charged);
      lowerBound += charged;
      expect(cache.usage.bytes).toBeLessThanOrEqual(cache.usage.maxBytes);
    }
    expect(env.assisted.callsOf('ignition').length - callsBefore).toBe(200);
    expect(cache.usage.bytes - bytesBefore).toBe(lowerBound);
  });
});

/** The Ignition and ramdisk areas are the payload and the ramdisk themselves, then zero-fills: no area-sized buffer. */
function expectZeroFills(file: VirtualFile, customization: Customization): void {
  const zeroFills = file.segments.flatMap((segment) => (segment.kind === 'zeros' ? [segment.length] : []));
  expect(zeroFills.sort((a, b) => a - b)).toEqual(
    [
      IGNITION_AREA_SIZE - customization.ignitionPayload.length,
      RAMDISK_AREA - (customization.ramdisk?.length ?? 0),
    ].sort((a, b) => a - b),
  );
  const inMemory = file.segments.flatMap((segment) => (segment.kind === 'bytes' ? [segment.data] : []));
  expect(inMemory).toContain(customization.ignitionPayload);
  expect(inMemory).toContain(customization.ramdisk);
  for (const data of inMemory) expect(data.length).toBeLessThan(64 * 1024);
}

/** Bytes of in-memory segments the file holds on its own (the kernel-argument areas), beyond the customisation's. */
function patchBytes(file: VirtualFile, customization: Customization): number {
  return file.segments.reduce(
    (sum, segment) =>
      sum +
      (segment.kind === 'bytes' &&
      segment.data !== customization.ignitionPayload &&
      segment.data !== customization.ramdisk
        ? segment.data.length
        : 0),
    0,
  );
}

/**
 * Random base64 characters made in a Buffer: a 50 MB JavaScript string would leave the garbage collector 50 MB to
 * deal with during the measurement, a pause of the test's own making.
 */
function randomBase64(length: number): Buffer {
  const alphabet = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  const bytes = randomBytes(length);
  for (let index = 0; index < length; index += 1) bytes[index] = alphabet[(bytes[index] ?? 0) & 63] ?? 0x41;
  return bytes;
}

/** A GET whose response is never read, to be destroyed by the test: a client that goes away mid-request. */
function openRequest(target: string): ClientRequest {
  const request = httpRequest(target, { agent: false });
  request.on('error', () => undefined);
  request.end();
  return request;
}
