// Boots the service's ISOs as a BMC's virtual media does: QEMU's curl block driver reads the ISO straight from the
// service's URL while the guest boots from it, with many Range requests on kept-alive connections. Each boot checks
// what the guest saw, that the service answered those requests, and that they cost one set of assisted-service calls
// (the customisation cache, docs/assisted-service.md "Reuse").
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CallKind, FakeAssistedService } from '../support/fake-assisted-service.js';
import { waitFor } from '../support/test-app.js';
import { bootAndReport, qemuAvailable, type BootMode } from './qemu.js';
import {
  OPENSHIFT_VERSION,
  expectFullIsoBoot,
  expectMinimalIsoBoot,
  startServiceBootEnv,
  type ServiceBootEnv,
} from './service-boot-fixture.js';

const availability = await qemuAvailable();
if (!availability.ok) console.warn(`virtual media boot tests will fail: ${availability.reason}`);

type ServedImage = 'full-iso' | 'minimal-iso';

interface VirtualMediaCase {
  readonly image: ServedImage;
  readonly mode: BootMode;
}

/** A CD under SeaBIOS + isolinux and under OVMF + GRUB, as a BMC offers its virtual media. */
const CASES: readonly VirtualMediaCase[] = [
  { image: 'full-iso', mode: 'bios-http-cdrom' },
  { image: 'full-iso', mode: 'uefi-http-cdrom' },
  { image: 'minimal-iso', mode: 'bios-http-cdrom' },
  { image: 'minimal-iso', mode: 'uefi-http-cdrom' },
];

/** One set of calls per customisation: Ignition and the infra-env (its kargs); the minimal ISO's ramdisk too. */
const UPSTREAM_CALLS: Readonly<Record<ServedImage, Partial<Record<CallKind, number>>>> = {
  'full-iso': { ignition: 1, 'infra-env': 1 },
  'minimal-iso': { ignition: 1, 'infra-env': 1, 'minimal-initrd': 1 },
};

const BOOT_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 180_000;
const SETUP_TIMEOUT_MS = 180_000;
/** Longer than any boot may last, so a boot's reads all fall in one TTL and the call counts mean one set. */
const CUSTOMIZATION_TTL_SECONDS = (10 * BOOT_TIMEOUT_MS) / 1000;
/**
 * What the curl driver fetches beyond each guest read. 64 KiB rather than QEMU's 256 KiB: BMCs ask for windows of
 * this order, and it makes a boot a few hundred Range requests instead of ~50. Measured under TCG on a busy 2-core
 * host, a boot took about as long with 64 KiB as with 256 KiB, and longer with 1 MiB (a guest read that misses
 * waits for the whole window).
 */
const READAHEAD_BYTES = 64 * 1024;
/** QEMU's IDE CD reads 2 KiB sectors; a window is the read plus the readahead, so this bound has room to spare. */
const MAX_GUEST_READ_BYTES = 64 * 1024;
/** The curl driver keeps its connections: far fewer than the requests, or the service is closing them. */
const MIN_REQUESTS_PER_CONNECTION = 10;
const MIB = 1024 * 1024;

/** The fields of the service's per-request log line (README "Observability") this test reads. */
interface RequestLine {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bytes: number;
}

/** What the service answered on one image URL during one boot. */
interface MediaTraffic {
  /** 206 answers: the Range requests. */
  readonly ranges: number;
  readonly heads: number;
  /** GETs answered with the whole ISO (200). */
  readonly wholeGets: number;
  /** Any status other than 200 and 206. */
  readonly otherStatuses: readonly number[];
  readonly rangeBytes: number;
  readonly largestRangeBytes: number;
  /** TCP connections opened to the service during the boot. */
  readonly connections: number;
}

function imagePath(image: ServedImage, infraEnvId: string): string {
  // The long form with a query for the full ISO, the short by-id form for the minimal one: both as a BMC is given them.
  return image === 'full-iso'
    ? `/images/${infraEnvId}?version=${OPENSHIFT_VERSION}&arch=x86_64&type=full-iso`
    : `/byid/${infraEnvId}/${OPENSHIFT_VERSION}/x86_64/minimal.iso`;
}

function isRequestLine(value: unknown): value is RequestLine {
  if (typeof value !== 'object' || value === null) return false;
  const line = value as Record<string, unknown>;
  return (
    line['context'] === 'HttpRequest' &&
    typeof line['method'] === 'string' &&
    typeof line['path'] === 'string' &&
    typeof line['status'] === 'number' &&
    typeof line['bytes'] === 'number'
  );
}

/** The request lines the service logged for `urlPath` (the log's `path` has no query). */
function requestLines(logs: readonly string[], urlPath: string): RequestLine[] {
  return logs
    .map((line): unknown => JSON.parse(line))
    .filter(isRequestLine)
    .filter((line) => line.path === urlPath);
}

function summarise(lines: readonly RequestLine[], connections: number): MediaTraffic {
  const ranges = lines.filter((line) => line.method === 'GET' && line.status === 206);
  return {
    ranges: ranges.length,
    heads: lines.filter((line) => line.method === 'HEAD').length,
    wholeGets: lines.filter((line) => line.method === 'GET' && line.status === 200).length,
    otherStatuses: lines.filter((line) => line.status !== 200 && line.status !== 206).map((line) => line.status),
    rangeBytes: ranges.reduce((sum, line) => sum + line.bytes, 0),
    largestRangeBytes: Math.max(0, ...ranges.map((line) => line.bytes)),
    connections,
  };
}

/** Counts connections opened to `server` until stopped, and waits for them to close (then all are logged). */
function watchConnections(server: Server): { count: () => number; closed: () => Promise<void>; stop: () => void } {
  const open = new Set<Socket>();
  let count = 0;
  const onConnection = (socket: Socket): void => {
    count += 1;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  server.on('connection', onConnection);
  return {
    count: () => count,
    // A request is logged when its response closes: once QEMU's sockets are gone, every line for the boot is in.
    closed: async () => void (await waitFor(() => (open.size === 0 ? true : undefined), 10_000, 'QEMU to hang up')),
    stop: () => void server.off('connection', onConnection),
  };
}

/** Requests the fast lane answered so far (docs/architecture.md, "The fast lane"). */
async function laneAnswers(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Number(/^assisted_image_service_fast_lane_answers_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
}

function upstreamCalls(assisted: FakeAssistedService, infraEnvId: string): Partial<Record<CallKind, number>> {
  const counts: Partial<Record<CallKind, number>> = {};
  for (const call of assisted.calls) {
    if (call.path.includes(`/infra-envs/${infraEnvId}`)) counts[call.kind] = (counts[call.kind] ?? 0) + 1;
  }
  return counts;
}

function describeCalls(calls: Partial<Record<CallKind, number>>): string {
  return Object.entries(calls)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
}

describe('booting the service URL as virtual media (QEMU curl driver)', () => {
  let work: string;
  let boot: ServiceBootEnv | undefined;
  let kernelBytes: number;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'virtual-media-boots-'));
    boot = await startServiceBootEnv(work, [], { CUSTOMIZATION_CACHE_TTL_SECONDS: String(CUSTOMIZATION_TTL_SECONDS) });
    kernelBytes = (await stat(boot.iso.kernelPath)).size;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await boot?.env.close();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  for (const { image, mode } of CASES) {
    it(
      `${image} from ${mode}: the guest sees its customisation; many Range requests cost one set of upstream calls`,
      async () => {
        if (boot === undefined) throw new Error('the service did not start');
        const { env, iso } = boot;
        expect(env.app.config.assistedService.customizationCacheTtlSeconds * 1000).toBeGreaterThan(BOOT_TIMEOUT_MS);
        // A new infra-env per boot: its calls and its cache entry are this boot's alone.
        const infraEnvId = randomUUID();
        env.assisted.addInfraEnv(boot.infraEnv(infraEnvId));
        const url = new URL(imagePath(image, infraEnvId), env.app.baseUrl);
        const logsBefore = env.app.logs.length;
        const laneBefore = await laneAnswers(env.app.baseUrl);
        const connections = watchConnections(env.app.server);

        const report = await bootAndReport({
          mode,
          url: url.href,
          readaheadBytes: READAHEAD_BYTES,
          timeoutMs: BOOT_TIMEOUT_MS,
        }).finally(connections.stop);
        await connections.closed();
        const traffic = summarise(requestLines(env.app.logs.slice(logsBefore), url.pathname), connections.count());
        const calls = upstreamCalls(env.assisted, infraEnvId);
        const byLane = (await laneAnswers(env.app.baseUrl)) - laneBefore;
        console.log(
          `virtual media ${image} ${mode}: ${report.seconds.toFixed(1)} s, ${traffic.ranges} Range requests + ${traffic.heads} HEAD ` +
            `on ${traffic.connections} connections, ${(traffic.rangeBytes / MIB).toFixed(1)} MiB ` +
            `(largest ${(traffic.largestRangeBytes / 1024).toFixed(0)} KiB), ${byLane} by the fast lane; ` +
            `assisted-service calls: ${describeCalls(calls)}`,
        );

        if (image === 'full-iso') expectFullIsoBoot(report, iso);
        else expectMinimalIsoBoot(report, iso);
        expect(traffic.otherStatuses).toEqual([]);
        expect(traffic.wholeGets).toBe(0);
        // Each answer is one window, and the guest booted a kernel it can only have read through them: so at least
        // kernel / window Range requests, each a trip to the service (≥ 63 for Debian's 7.9 MiB kernel; ~120 made).
        expect(traffic.largestRangeBytes).toBeLessThanOrEqual(READAHEAD_BYTES + MAX_GUEST_READ_BYTES);
        expect(traffic.rangeBytes).toBeGreaterThanOrEqual(kernelBytes);
        expect(traffic.ranges).toBeGreaterThanOrEqual(
          Math.ceil(kernelBytes / (READAHEAD_BYTES + MAX_GUEST_READ_BYTES)),
        );
        expect(traffic.connections * MIN_REQUESTS_PER_CONNECTION).toBeLessThanOrEqual(traffic.ranges);
        expect(calls).toEqual(UPSTREAM_CALLS[image]);
        // The application answers the first request of the URL (QEMU's HEAD); the fast lane the Range reads after it.
        expect(byLane).toBe(traffic.ranges + traffic.heads - 1);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
