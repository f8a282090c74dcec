import { mkdtemp, rm } from 'node:fs/promises';
import type { ServerOptions } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RequestSlots } from '../src/delivery/download-writer.js';
import { HTTP_REQUESTS_INFLIGHT } from '../src/metrics/metrics.module.js';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet, jsonOf, type RawResponse } from './support/http-client.js';
import { openDownload, readAtLeast } from './support/raw-download.js';
import { waitFor } from './support/test-app.js';

const ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const ROOTFS = '/boot-artifacts/rootfs?version=4.18&arch=x86_64';
const KERNEL = '/boot-artifacts/kernel?version=4.18&arch=x86_64';
const IMAGE = `/images/${ID}?version=4.18`;

let work: string;
let iso: FixtureIso;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'request-lifecycle-'));
  // A rootfs larger than every socket buffer on the way, so a client that reads nothing holds its response open.
  iso = await buildFixtureIso({ outPath: join(work, 'base.iso'), rootfsSizeBytes: 48 * 1024 * 1024 });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function startEnv(env: Record<string, string>, serverTimeouts: ServerOptions = {}): Promise<DownloadEnv> {
  return startDownloadEnv({
    fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0', prebuilt: iso }],
    infraEnvs: [{ id: ID, ignition: '{"ignition":{"version":"3.2.0"}}' }],
    env,
    appOptions: { serverTimeouts },
  });
}

function portOf(env: DownloadEnv, listener: 'main' | 'plain' = 'main'): number {
  return Number(new URL((listener === 'main' ? env.app.baseUrl : env.app.plainUrl) ?? '').port);
}

/** The in-flight gauge of one route group, summed over methods, as /metrics shows it. */
async function inflight(env: DownloadEnv, group: string): Promise<number> {
  const text = (await httpGet(`${env.app.baseUrl}/metrics`)).body.toString('utf8');
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${HTTP_REQUESTS_INFLIGHT}{`) && line.includes(`group="${group}"`))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function settled(env: DownloadEnv, what: string): Promise<void> {
  const slots = env.app.app.get(RequestSlots);
  await waitFor(
    async () =>
      (await inflight(env, 'boot-artifacts')) === 0 &&
      (await inflight(env, 'images')) === 0 &&
      slots.inUse === 0 &&
      slots.waiting === 0
        ? true
        : undefined,
    30_000,
    what,
  );
}

/** Log lines written since `mark`, parsed. */
function linesSince(env: DownloadEnv, mark: number): Array<Record<string, unknown>> {
  return env.app.logs.slice(mark).map((line) => JSON.parse(line) as Record<string, unknown>);
}

function requestLines(env: DownloadEnv, mark: number, route: string): Array<Record<string, unknown>> {
  return linesSince(env, mark).filter((line) => line.context === 'HttpRequest' && line.route === route);
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function pipelined(count: number, path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(count);
}

/** Everything the server sent until it ended or closed the connection. */
function readUntilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (): void => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', done);
    socket.once('close', done);
    // Writes after the server closed fail; the answer is what counts.
    socket.on('error', () => undefined);
  });
}

/** Downloads that all complete, at once or one after the other: nothing is left holding a slot. */
async function expectDownloadsWork(env: DownloadEnv, count: number, together = true): Promise<void> {
  const get = (): Promise<RawResponse> => httpGet(`${env.app.baseUrl}${KERNEL}`);
  const responses: RawResponse[] = [];
  if (together) responses.push(...(await Promise.all(Array.from({ length: count }, get))));
  else for (let i = 0; i < count; i++) responses.push(await get());
  for (const response of responses) {
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(Number(response.headers['content-length']));
  }
}

describe('clients that pipeline and vanish, slow headers (MAX_CONCURRENT_REQUESTS=5)', () => {
  let env: DownloadEnv;

  beforeAll(async () => {
    // With the extra plain listener too (its port is picked freely): both get the same treatment.
    env = await startEnv(
      { MAX_CONCURRENT_REQUESTS: '5', HTTP_LISTEN_PORT: '18089' },
      { headersTimeout: 1_000, requestTimeout: 2_000, connectionsCheckingInterval: 100 },
    );
  });

  afterAll(async () => {
    await env.close();
  });

  it.each([
    ['closes it', 'main', (socket: Socket) => socket.destroy()],
    ['resets it', 'main', (socket: Socket) => socket.resetAndDestroy()],
    ['closes it', 'plain', (socket: Socket) => socket.destroy()],
  ] as const)(
    '8 pipelined rootfs GETs on one socket that reads nothing and then %s (%s listener): everything is released',
    async (_how, listener, leave) => {
      const slots = env.app.app.get(RequestSlots);
      const mark = env.app.logs.length;
      const socket = await openSocket(portOf(env, listener));
      socket.on('error', () => undefined);
      socket.write(pipelined(8, ROOTFS));
      await waitFor(
        async () => ((await inflight(env, 'boot-artifacts')) === 8 && slots.inUse === 1 ? true : undefined),
        20_000,
        'all 8 requests in flight',
      );
      // One connection holds one slot: the 7 behind the first wait for their turn, not for a slot.
      expect(slots.inUse).toBe(1);
      expect(slots.waiting).toBe(0);

      leave(socket);
      await settled(env, 'gauges and slots back to 0');
      const lines = requestLines(env, mark, '/boot-artifacts/:artifact');
      expect(lines).toHaveLength(8);
      expect(lines.every((line) => line.aborted === true)).toBe(true);
      await expectDownloadsWork(env, 8);
      await settled(env, 'the later downloads to finish');
    },
  );

  it('answers pipelined downloads that are read, all of them, in order', async () => {
    const socket = await openSocket(portOf(env));
    const kernel = await httpGet(`${env.app.baseUrl}${KERNEL}`);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.write(`${pipelined(3, KERNEL)}HEAD ${ROOTFS} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    await new Promise((resolve) => socket.once('close', resolve));
    const received = Buffer.concat(chunks);
    const statuses: string[] = [];
    let offset = 0;
    while (offset < received.length) {
      const headEnd = received.indexOf('\r\n\r\n', offset);
      if (headEnd < 0) throw new Error(`an incomplete response head after ${statuses.length} answers`);
      const head = received.subarray(offset, headEnd).toString('latin1');
      statuses.push(head.split('\r\n')[0] ?? '');
      // The fourth answers a HEAD: no body follows its head, whatever its Content-Length says.
      const length = statuses.length === 4 ? 0 : Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (length > 0) expect(received.subarray(headEnd + 4, headEnd + 4 + length).equals(kernel.body)).toBe(true);
      offset = headEnd + 4 + length;
    }
    expect(statuses).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    await settled(env, 'slots back');
  });

  it('closes a connection with more pipelined requests waiting than it may have, and releases them all', async () => {
    const mark = env.app.logs.length;
    const socket = await openSocket(portOf(env));
    const closed = readUntilClosed(socket);
    socket.write(pipelined(40, ROOTFS));
    await closed;
    await settled(env, 'gauges and slots back to 0');
    expect(
      linesSince(env, mark).filter((line) => line.context === 'PipelineLimit' && line.level === 'info'),
    ).toHaveLength(1);
    await expectDownloadsWork(env, 6);
  });

  it('closes connections whose headers never complete or never start, on both listeners, and serves others meanwhile', async () => {
    const slow = await openSocket(portOf(env));
    const silent = await openSocket(portOf(env, 'plain'));
    const slowAnswer = readUntilClosed(slow);
    const silentAnswer = readUntilClosed(silent);
    slow.write('GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // A header line now and then, never the blank line that ends them: only the headers deadline stops this.
    const trickle = setInterval(() => slow.writable && slow.write('X-Slow: 1\r\n'), 100);
    try {
      expect((await httpGet(`${env.app.baseUrl}/live`)).status).toBe(200);
      expect((await httpGet(`${env.app.baseUrl}${KERNEL}`)).status).toBe(200);
      expect(await slowAnswer).toMatch(/^HTTP\/1\.1 408 /);
      expect(await silentAnswer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
      slow.destroy();
      silent.destroy();
    }
  });
});

describe('a full queue (MAX_CONCURRENT_REQUESTS=1, MAX_QUEUED_REQUESTS=1)', () => {
  let env: DownloadEnv;

  beforeAll(async () => {
    // Waits long enough that the queued request is certainly still queued when the third arrives.
    env = await startEnv({ MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUED_REQUESTS: '1', MAX_QUEUE_WAIT_SECONDS: '3600' });
  });

  afterAll(async () => {
    await env.close();
  });

  it('answers a third download 503 with Retry-After and says the queue is full', async () => {
    const slots = env.app.app.get(RequestSlots);
    // The holder's call to assisted-service never answers: it keeps the one slot without streaming anything.
    env.assisted.setFault('infra-env', { kind: 'hang' }).setFault('ignition', { kind: 'hang' });
    const holder = openDownload(`${env.app.baseUrl}${IMAGE}&api_key=holder`);
    await waitFor(() => (slots.inUse === 1 ? true : undefined), 10_000, 'the holder to take the slot');
    const queued = openDownload(`${env.app.baseUrl}${KERNEL}`);
    await waitFor(() => (slots.waiting === 1 ? true : undefined), 10_000, 'one queued download');

    const refused = await httpGet(`${env.app.baseUrl}${KERNEL}`);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(jsonOf(refused)).toMatchObject({ statusCode: 503, message: expect.stringMatching(/queue is full/) });

    env.assisted.setFault('infra-env', undefined).setFault('ignition', undefined);
    holder.abort();
    expect((await queued.response).statusCode).toBe(200);
    queued.abort();
    await settled(env, 'the slot back');
  });
});

describe('a wait over MAX_QUEUE_WAIT_SECONDS, and a client that stops reading (DOWNLOAD_STALL_SECONDS=1)', () => {
  let env: DownloadEnv;

  beforeAll(async () => {
    env = await startEnv({
      MAX_CONCURRENT_REQUESTS: '1',
      MAX_QUEUED_REQUESTS: '1',
      MAX_QUEUE_WAIT_SECONDS: '1',
      DOWNLOAD_STALL_SECONDS: '1',
    });
  });

  afterAll(async () => {
    await env.close();
  });

  it('answers a download that waited too long 503 with Retry-After and says how long it waited', async () => {
    const slots = env.app.app.get(RequestSlots);
    env.assisted.setFault('infra-env', { kind: 'hang' }).setFault('ignition', { kind: 'hang' });
    const holder = openDownload(`${env.app.baseUrl}${IMAGE}&api_key=holder`);
    try {
      await waitFor(() => (slots.inUse === 1 ? true : undefined), 10_000, 'the holder to take the slot');
      const refused = await httpGet(`${env.app.baseUrl}${KERNEL}`);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(jsonOf(refused).message).toMatch(/waited 1 s for a download slot/);
      expect(slots.waiting).toBe(0);
    } finally {
      env.assisted.setFault('infra-env', undefined).setFault('ignition', undefined);
      holder.abort();
    }
    await settled(env, 'the slot back');
  });

  it('cuts a download whose client stopped reading, logs its route (not its URL) and frees its slot', async () => {
    const mark = env.app.logs.length;
    const download = openDownload(`${env.app.baseUrl}${ROOTFS}`);
    try {
      const response = await download.response;
      expect(response.statusCode).toBe(200);
      await readAtLeast(response, 1024 * 1024);
      await settled(env, 'the stalled download to be cut');
      const cuts = linesSince(env, mark).filter((line) => line.context === 'StalledDownloadSweep');
      expect(cuts).toHaveLength(1);
      expect(cuts[0]).toMatchObject({ level: 'info', route: '/boot-artifacts/:artifact' });
      expect(JSON.stringify(cuts[0])).not.toContain('version=4.18');
      expect(requestLines(env, mark, '/boot-artifacts/:artifact')).toMatchObject([{ aborted: true }]);
      // One after the other: with one slot and a one-second queue, parallel ones could rightly be refused.
      await expectDownloadsWork(env, 3, false);
    } finally {
      download.abort();
    }
  });
});
