import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { freePort } from './support/free-port.js';
import { IsoSourceServer } from './support/iso-source-server.js';
import { spawnService, type ServiceProcess } from './support/service-process.js';
import { waitFor } from './support/test-app.js';

const VERSION = '418.94.1-0';
const FILE_NAME = `rhcos-full-iso-${VERSION}-x86_64.iso`;
const TEMPLATE_NAME = `rhcos-minimal-iso-${VERSION}-x86_64.iso`;

let work: string;
let iso: FixtureIso;
let isoSha: string;
const running: ServiceProcess[] = [];
const mirrors: IsoSourceServer[] = [];
/** Processes a test started outside the service (a stand-in tool the service left running). */
const strays: number[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'restart-'));
  iso = await buildFixtureIso({ outPath: join(work, 'base.iso'), rootfsSizeBytes: 24 * 1024 * 1024 });
  isoSha = createHash('sha256')
    .update(await readFile(iso.path))
    .digest('hex');
});

afterEach(async () => {
  for (const service of running.splice(0)) {
    service.kill('SIGKILL');
    await service.exited;
  }
  for (const mirror of mirrors.splice(0)) await mirror.close();
  for (const pid of strays.splice(0)) killIfRunning(pid);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Started {
  readonly service: ServiceProcess;
  readonly url: string;
}

interface StartOptions {
  readonly tempDir?: string;
  /** Gives the image a minimal ISO template to build. */
  readonly rootfsUrl?: string;
  readonly env?: Record<string, string>;
}

async function start(dataDir: string, mirror: IsoSourceServer, options: StartOptions = {}): Promise<Started> {
  const port = await freePort();
  const entry = {
    openshift_version: '4.17',
    cpu_architecture: 'x86_64',
    url: mirror.url('/rhcos.iso'),
    version: VERSION,
    sha256: isoSha,
  };
  const service = spawnService({
    LISTEN_PORT: String(port),
    DATA_DIR: dataDir,
    DATA_TEMP_DIR: options.tempDir ?? join(work, 'tmp'),
    OS_IMAGES: JSON.stringify([
      { ...entry, ...(options.rootfsUrl !== undefined && { rootfs_url: options.rootfsUrl }) },
    ]),
    ...options.env,
  });
  running.push(service);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => ((await fetch(`${url}/live`).catch(() => undefined))?.status === 200 ? true : undefined),
    60_000,
    'the service to listen',
  );
  return { service, url };
}

async function mirror(ranges: boolean): Promise<IsoSourceServer> {
  const server = await new IsoSourceServer().listen();
  mirrors.push(server);
  return server.route('/rhcos.iso', { kind: 'file', path: iso.path, ranges });
}

async function downloadedBytes(url: string): Promise<number | undefined> {
  const body = (await (await fetch(`${url}/health`)).json()) as {
    details: { images: Record<string, { status?: string; bytesDone?: number }> };
  };
  const state = body.details.images[FILE_NAME];
  return state?.status === 'downloading' ? state.bytesDone : undefined;
}

async function ready(url: string): Promise<void> {
  await waitFor(async () => ((await fetch(`${url}/health`)).status === 200 ? true : undefined), 60_000, 'readiness');
}

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Kills the service with SIGKILL once it has written at least `bytes` of the image from a slow `source`. */
async function killMidDownload(dataDir: string, source: IsoSourceServer, bytes: number): Promise<number> {
  source.route('/rhcos.iso', { kind: 'slow', path: iso.path, bytesPerSecond: 3 * 1024 * 1024, ranges: true });
  const first = await start(dataDir, source);
  await waitFor(
    async () => (((await downloadedBytes(first.url)) ?? 0) >= bytes ? true : undefined),
    60_000,
    'the download to get going',
  );
  first.service.kill('SIGKILL');
  expect(await first.service.exited).toBe('SIGKILL');
  const names = await readdir(dataDir);
  // Nothing that could be served as a complete image: only the partial file and its record.
  expect(names).not.toContain(FILE_NAME);
  expect(names).toEqual(expect.arrayContaining([`${FILE_NAME}.part`, `${FILE_NAME}.part.json`]));
  return (await stat(join(dataDir, `${FILE_NAME}.part`))).size;
}

/**
 * A stand-in `xorriso` that starts writing the template (some bytes to the file after `-outdev stdio:`), records
 * its pid in `pidFile` and then hangs: the service is always killed mid-build.
 */
async function hangingXorriso(pidFile: string): Promise<string> {
  const bin = await mkdtemp(join(work, 'bin-'));
  const script = [
    '#!/bin/sh',
    'out=""; previous=""',
    'for arg in "$@"; do',
    '  if [ "$previous" = "-outdev" ]; then out="${arg#stdio:}"; fi',
    '  previous="$arg"',
    'done',
    'head -c 1048576 /dev/zero > "$out"',
    `echo $$ > '${pidFile}.new' && mv '${pidFile}.new' '${pidFile}'`,
    'exec sleep 600',
    '',
  ].join('\n');
  await writeFile(join(bin, 'xorriso'), script);
  await chmod(join(bin, 'xorriso'), 0o755);
  return bin;
}

function killIfRunning(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function ownerPid(scratchDir: string): Promise<unknown> {
  return (JSON.parse(await readFile(join(scratchDir, 'owner.json'), 'utf8')) as { pid?: unknown }).pid;
}

// Each case starts the built service at least twice; on two busy cores that takes a while.
describe('restart safety', () => {
  it('resumes a download killed with SIGKILL with a Range request, and still checks the whole file', async () => {
    const dataDir = join(work, 'data-resume');
    const source = await mirror(true);
    const partial = await killMidDownload(dataDir, source, 4 * 1024 * 1024);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(iso.size);

    source.route('/rhcos.iso', { kind: 'file', path: iso.path, ranges: true });
    const before = source.requests.length;
    const second = await start(dataDir, source);
    await ready(second.url);
    const resumed = source.requests.slice(before);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]?.headers.range).toBe(`bytes=${partial}-`);
    expect(resumed[0]?.headers['if-range']).toMatch(/^"/);
    expect(await sha256Of(join(dataDir, FILE_NAME))).toBe(isoSha);
    expect((await readdir(dataDir)).filter((name) => name.includes('.part'))).toEqual([]);
    expect(second.service.stdout.some((line) => line.includes(`resuming at byte ${partial}`))).toBe(true);
  });

  it('starts over when the source does not answer the Range request with 206', async () => {
    const dataDir = join(work, 'data-no-ranges');
    const source = await mirror(true);
    const partial = await killMidDownload(dataDir, source, 2 * 1024 * 1024);
    source.route('/rhcos.iso', { kind: 'file', path: iso.path, ranges: false });
    const before = source.requests.length;
    const second = await start(dataDir, source);
    await ready(second.url);
    expect(source.requests[before]?.headers.range).toBe(`bytes=${partial}-`);
    expect(await sha256Of(join(dataDir, FILE_NAME))).toBe(isoSha);
  });

  it('detects at start a cached image whose size changed since it was verified, and fetches it again', async () => {
    const dataDir = join(work, 'data-changed');
    const source = await mirror(true);
    const first = await start(dataDir, source);
    await ready(first.url);
    first.service.kill('SIGTERM');
    expect(await first.service.exited).toBe(0);
    await appendFile(join(dataDir, FILE_NAME), Buffer.alloc(4096, 1));

    const second = await start(dataDir, source);
    await ready(second.url);
    expect(second.service.stdout.some((line) => line.includes('its size changed since it was verified'))).toBe(true);
    expect(source.requests).toHaveLength(2);
    expect(await sha256Of(join(dataDir, FILE_NAME))).toBe(isoSha);
  });

  it('leaves no files behind after a SIGKILL during a template build and a restart', async () => {
    const dataDir = join(work, 'data-template-kill');
    const tempDir = join(work, 'tmp-template-kill');
    await mkdir(tempDir, { recursive: true });
    const pidFile = join(work, 'xorriso.pid');
    const source = await mirror(true);
    const rootfsUrl = 'https://mirror.example.com/rootfs.img';
    const bin = await hangingXorriso(pidFile);
    const first = await start(dataDir, source, {
      tempDir,
      rootfsUrl,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    const xorrisoPid = await waitFor(
      async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined,
      60_000,
      'xorriso to start',
    );
    strays.push(xorrisoPid);
    const during = await readdir(dataDir);
    expect(during.filter((name) => name.startsWith(`.${TEMPLATE_NAME}.`) && name.endsWith('.tmp'))).toHaveLength(1);
    const [firstScratch = ''] = await readdir(tempDir);
    expect(await readdir(join(tempDir, firstScratch))).toEqual(
      expect.arrayContaining(['owner.json', expect.stringMatching(/^minimal-template-/)]),
    );
    first.service.kill('SIGKILL');
    expect(await first.service.exited).toBe('SIGKILL');
    process.kill(xorrisoPid, 'SIGKILL');

    const second = await start(dataDir, source, { tempDir, rootfsUrl });
    await ready(second.url);
    expect((await readdir(dataDir)).sort()).toEqual([FILE_NAME, `${FILE_NAME}.verified.json`, TEMPLATE_NAME].sort());
    const scratchDirs = await readdir(tempDir);
    expect(scratchDirs).toHaveLength(1);
    expect(scratchDirs).not.toContain(firstScratch);
    expect(await ownerPid(join(tempDir, scratchDirs[0] ?? ''))).toBe(second.service.child.pid);
    expect(
      second.service.stdout.some((line) =>
        line.includes(`removed ${join(tempDir, firstScratch)}: its process ${first.service.child.pid} is gone`),
      ),
    ).toBe(true);
    expect(source.requests).toHaveLength(1);

    second.service.kill('SIGTERM');
    expect(await second.service.exited).toBe(0);
    expect(await readdir(tempDir)).toEqual([]);
  });
});
