import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { IsoSourceServer } from './support/iso-source-server.js';
import { startTestApp, waitFor, type TestApp } from './support/test-app.js';

// OpenShift 4.17 and no rootfs URL: no nmstate image and no template, so DATA_DIR holds only what these tests name.
const VERSION = '417.94.202501010000-0';
const FILE_NAME = `rhcos-full-iso-${VERSION}-x86_64.iso`;
const VERIFIED_NAME = `${FILE_NAME}.verified.json`;
const ZEROS = '0'.repeat(64);
const SCRATCH_NAME = /^assisted-image-service-[A-Za-z0-9]{6}$/;

let work: string;
let iso: FixtureIso;
let isoSha: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cache-files-'));
  iso = await buildFixtureIso({ outPath: join(work, 'base.iso'), rootfsSizeBytes: 2 * 1024 * 1024 });
  isoSha = createHash('sha256')
    .update(await readFile(iso.path))
    .digest('hex');
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function mirror(): Promise<IsoSourceServer> {
  const server = await new IsoSourceServer().listen();
  cleanups.push(() => server.close());
  return server.route('/rhcos.iso', { kind: 'file', path: iso.path });
}

async function directory(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(work, prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function catalog(url: string, sha256?: string): string {
  return JSON.stringify([
    { openshift_version: '4.17', cpu_architecture: 'x86_64', url, version: VERSION, ...(sha256 && { sha256 }) },
  ]);
}

async function start(env: Record<string, string>): Promise<TestApp> {
  const app = await startTestApp(env);
  cleanups.push(() => app.close());
  return app;
}

async function settled(app: TestApp): Promise<{ status: string; reason?: string }> {
  return waitFor(
    async () => {
      const body = (await (await fetch(`${app.baseUrl}/health`)).json()) as {
        details: { images: Record<string, { status: string; reason?: string }> };
      };
      const state = body.details.images[FILE_NAME];
      return state?.status === 'ready' || state?.status === 'failed' ? state : undefined;
    },
    30_000,
    `${FILE_NAME} to settle`,
  );
}

/** Runs the app once on `dataDir` until the image is cached, then stops it. */
async function cacheOnce(dataDir: string, url: string, sha256?: string): Promise<void> {
  const app = await startTestApp({ DATA_DIR: dataDir, OS_IMAGES: catalog(url, sha256) });
  try {
    expect(await settled(app)).toMatchObject({ status: 'ready' });
  } finally {
    await app.close();
  }
}

async function verifiedRecord(dataDir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dataDir, VERIFIED_NAME), 'utf8')) as Record<string, unknown>;
}

function logged(app: TestApp, text: string): boolean {
  return app.logs.some((line) => line.includes(text));
}

// Each case runs the app twice on the same DATA_DIR.
describe('a catalog entry that changed since the image was cached', () => {
  it('hashes the cached file for a new sha256 and, when it does not match, never serves it', async () => {
    const [oldSource, newSource] = [await mirror(), await mirror()];
    const dataDir = await directory('data-');
    await cacheOnce(dataDir, oldSource.url('/rhcos.iso'), isoSha);

    const app = await start({ DATA_DIR: dataDir, OS_IMAGES: catalog(newSource.url('/rhcos.iso'), ZEROS) });
    const state = await settled(app);
    expect(logged(app, `re-verifying cached ${FILE_NAME} by its sha256: the catalog URL changed`)).toBe(true);
    expect(logged(app, `using cached ${FILE_NAME}`)).toBe(false);
    // The cached file is removed and fetched again from the new URL, whose content fails the new sha256.
    expect(newSource.requests).toHaveLength(1);
    expect(oldSource.requests).toHaveLength(1);
    expect(state).toEqual(
      expect.objectContaining({ status: 'failed', reason: `sha256 mismatch: expected ${ZEROS}, got ${isoSha}` }),
    );
    expect(await readdir(dataDir)).toEqual([]);
    const kernel = await fetch(`${app.baseUrl}/boot-artifacts/kernel?arch=x86_64&version=${VERSION}`);
    expect(kernel.status).toBe(503);
  });

  it('reuses the cached file without a download when the URL changed and its hash matches the catalog sha256', async () => {
    const [oldSource, newSource] = [await mirror(), await mirror()];
    const dataDir = await directory('data-');
    await cacheOnce(dataDir, oldSource.url('/rhcos.iso'), isoSha);
    const cachedAt = (await stat(join(dataDir, FILE_NAME))).mtimeMs;

    const app = await start({
      DATA_DIR: dataDir,
      OS_IMAGES: catalog(newSource.url('/rhcos.iso?token=new-secret'), isoSha),
    });
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    expect(newSource.requests).toHaveLength(0);
    expect(oldSource.requests).toHaveLength(1);
    expect(logged(app, `re-verifying cached ${FILE_NAME} by its sha256: the catalog URL changed`)).toBe(true);
    expect(logged(app, `using cached ${FILE_NAME}: its sha256 matches the catalog`)).toBe(true);
    expect(app.logs.join('\n')).not.toContain('new-secret');
    expect((await stat(join(dataDir, FILE_NAME))).mtimeMs).toBe(cachedAt);
    expect(await verifiedRecord(dataDir)).toMatchObject({
      url: newSource.url('/rhcos.iso?token=new-secret'),
      sha256: isoSha,
    });
  });

  it('downloads again from a new URL when no sha256 can vouch for the cached file', async () => {
    const [oldSource, newSource] = [await mirror(), await mirror()];
    const dataDir = await directory('data-');
    await cacheOnce(dataDir, oldSource.url('/rhcos.iso'));

    const app = await start({ DATA_DIR: dataDir, OS_IMAGES: catalog(newSource.url('/rhcos.iso')) });
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    expect(newSource.requests).toHaveLength(1);
    expect(logged(app, 'the catalog URL changed')).toBe(true);
    expect(await verifiedRecord(dataDir)).toMatchObject({ url: newSource.url('/rhcos.iso') });
  });

  it('takes a record that predates the URL as unknown, not changed: checks the file as before and adds the URL', async () => {
    const [oldSource, newSource] = [await mirror(), await mirror()];
    const dataDir = await directory('data-');
    await cacheOnce(dataDir, oldSource.url('/rhcos.iso'));
    const { size } = await stat(join(dataDir, FILE_NAME));
    await writeFile(join(dataDir, VERIFIED_NAME), JSON.stringify({ size, verifiedAt: '2025-01-01T00:00:00.000Z' }));

    const app = await start({ DATA_DIR: dataDir, OS_IMAGES: catalog(newSource.url('/rhcos.iso')) });
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    expect(newSource.requests).toHaveLength(0);
    expect(logged(app, `using cached ${FILE_NAME}: its source was not recorded`)).toBe(true);
    expect(await verifiedRecord(dataDir)).toMatchObject({ size, url: newSource.url('/rhcos.iso') });
  });
});

describe('what the start-up cleanup may delete in DATA_DIR', () => {
  it('removes stale cache files and leftovers of interrupted writes, and leaves anything else alone, listed in one warning', async () => {
    const source = await mirror();
    const dataDir = await directory('data-');
    const foreign: Record<string, string> = {
      'notes.txt': "not the cache's",
      'ubuntu-22.04-live-server-amd64.iso': "someone else's ISO",
      '.keep': '',
      'rhcos-full-iso-418-x86_64.iso.bak': "an operator's backup",
    };
    for (const [name, content] of Object.entries(foreign)) await writeFile(join(dataDir, name), content);
    await mkdir(join(dataDir, 'backups'));
    await writeFile(join(dataDir, 'backups', 'rhcos-full-iso-416.1-x86_64.iso'), 'inside a foreign directory');
    await mkdir(join(dataDir, 'rhcos-full-iso-416.2-x86_64.iso'));
    await mkdir(join(dataDir, 'lost+found'));
    const stale = [
      'rhcos-full-iso-416.0-x86_64.iso',
      'rhcos-full-iso-416.0-x86_64.iso.verified.json',
      'rhcos-full-iso-416.0-x86_64.iso.part',
      'rhcos-full-iso-416.0-x86_64.iso.part.json',
      'nmstate-416.0-x86_64.img',
      'rhcos-minimal-iso-416.0-x86_64.iso',
      `.rhcos-minimal-iso-${VERSION}-x86_64.iso.${randomUUID()}.tmp`,
      `${VERIFIED_NAME}.${randomUUID()}.tmp`,
      `${FILE_NAME}.part.json.${randomUUID()}.tmp`,
      `nmstate-${VERSION}-x86_64.img.${randomUUID()}.part`,
    ];
    for (const name of stale) await writeFile(join(dataDir, name), 'left by an earlier run');

    const app = await start({ DATA_DIR: dataDir, OS_IMAGES: catalog(source.url('/rhcos.iso')) });
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    const expected = [
      ...Object.keys(foreign),
      'backups',
      'rhcos-full-iso-416.2-x86_64.iso',
      'lost+found',
      FILE_NAME,
      VERIFIED_NAME,
    ];
    expect((await readdir(dataDir)).sort()).toEqual(expected.sort());
    for (const [name, content] of Object.entries(foreign))
      expect(await readFile(join(dataDir, name), 'utf8')).toBe(content);
    expect(await readdir(join(dataDir, 'backups'))).toEqual(['rhcos-full-iso-416.1-x86_64.iso']);
    for (const name of stale) expect(logged(app, `removed ${name} from ${dataDir}`)).toBe(true);

    const warnings = app.logs.filter((line) => line.includes('that the cache did not write'));
    expect(warnings).toHaveLength(1);
    const [warning = ''] = warnings;
    expect(JSON.parse(warning)).toMatchObject({ level: 'warn' });
    for (const name of [...Object.keys(foreign), 'backups/', 'rhcos-full-iso-416.2-x86_64.iso/'])
      expect(warning).toContain(name);
    expect(warning).not.toContain('lost+found');
  });
});

describe('scratch space in DATA_TEMP_DIR', () => {
  it('is private to the run, removed on close; stale ones of gone processes are removed, live ones never', async () => {
    const source = await mirror();
    const parent = await directory('temp-');
    const scratch = (owner?: Record<string, unknown>): Promise<string> => makeScratchDir(parent, owner);
    const live = await scratch({ pid: process.pid, hostname: hostname() });
    const otherHost = await scratch({ pid: await deadPid(), hostname: `not-${hostname()}` });
    const recentUnowned = await scratch();
    const gone = await scratch({ pid: await deadPid(), hostname: hostname() });
    // The pid of a live process, but another start time: the pid was reused (or a container restarted as pid 1).
    const reusedPid = await scratch({ pid: process.pid, hostname: hostname(), startedAt: 'an-earlier-boot/1' });
    await mkdir(join(parent, gone, 'minimal-template-abcdef'));
    await writeFile(join(parent, gone, 'minimal-template-abcdef', 'file-0'), 'staged by a killed build');
    const oldUnowned = await scratch();
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(parent, oldUnowned), twoHoursAgo, twoHoursAgo);
    await mkdir(join(parent, 'nmstate-abcdef'));

    const app = await startTestApp({
      DATA_DIR: await directory('data-'),
      DATA_TEMP_DIR: parent,
      OS_IMAGES: catalog(source.url('/rhcos.iso')),
    });
    let closed = false;
    cleanups.push(async () => (closed ? undefined : app.close()));
    expect(await settled(app)).toMatchObject({ status: 'ready' });
    const kept = [live, otherHost, recentUnowned, 'nmstate-abcdef'];
    const entries = await readdir(parent);
    const own = entries.filter((name) => !kept.includes(name));
    expect(entries).toEqual(expect.arrayContaining(kept));
    expect(own).toHaveLength(1);
    expect(own[0]).toMatch(SCRATCH_NAME);
    const ownPath = join(parent, own[0] ?? '');
    expect((await stat(ownPath)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(join(ownPath, 'owner.json'), 'utf8'))).toMatchObject({
      pid: process.pid,
      hostname: hostname(),
    });
    expect(logged(app, `removed ${join(parent, gone)}: its process`)).toBe(true);
    expect(logged(app, `removed ${join(parent, reusedPid)}: its process ${process.pid} is gone`)).toBe(true);
    expect(logged(app, `removed ${join(parent, oldUnowned)}: left without an owner record`)).toBe(true);

    closed = true;
    await app.close();
    expect((await readdir(parent)).sort()).toEqual(kept.sort());
  });
});

/** A directory as the service names its scratch space, with an owner record unless none is given. */
async function makeScratchDir(parent: string, owner?: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(parent, 'assisted-image-service-'));
  if (owner !== undefined) await writeFile(join(dir, 'owner.json'), JSON.stringify(owner));
  return dir.slice(parent.length + 1);
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  if (child.pid === undefined) throw new Error('the short-lived process did not start');
  return child.pid;
}
