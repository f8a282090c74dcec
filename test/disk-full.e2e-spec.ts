import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { startTestApp, waitFor, type TestApp } from './support/test-app.js';

const run = promisify(execFile);
const VERSION = '418.94.1-0';
const FILE_NAME = `rhcos-full-iso-${VERSION}-x86_64.iso`;

let work: string;
let big: FixtureIso;
let small: FixtureIso;
const mounts: string[] = [];

/** A tmpfs of `mebibytes`, or the reason one cannot be mounted here (not root, no mount permission). */
async function mountTmpfs(dir: string, bytes: number): Promise<string | undefined> {
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
    mounts.push(dir);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'disk-full-'));
  [big, small] = await Promise.all([
    buildFixtureIso({ outPath: join(work, 'big.iso'), rootfsSizeBytes: 16 * 1024 * 1024 }),
    buildFixtureIso({ outPath: join(work, 'small.iso') }),
  ]);
});

afterAll(async () => {
  for (const dir of mounts.splice(0)) await run('umount', ['-l', dir]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

async function settledState(app: TestApp): Promise<{ status: string; reason?: string }> {
  return waitFor(
    async () => {
      const body = (await (await fetch(`${app.baseUrl}/health`)).json()) as {
        details: { images: Record<string, { status: string; reason?: string }> };
      };
      const state = body.details.images[FILE_NAME];
      return state?.status === 'ready' || state?.status === 'failed' ? state : undefined;
    },
    30_000,
    'the image to settle',
  );
}

describe('a full disk', () => {
  it('fails a download with "no space", removes the partial file, and keeps serving', async () => {
    const dataDir = join(work, 'data-download');
    const problem = await mountTmpfs(dataDir, 6 * 1024 * 1024);
    if (problem !== undefined) throw new Error(`cannot mount a tmpfs here (run as root): ${problem}`);
    const catalog = [
      { openshift_version: '4.17', cpu_architecture: 'x86_64', url: `file://${big.path}`, version: VERSION },
    ];
    const app = await startTestApp({
      DATA_DIR: dataDir,
      DATA_TEMP_DIR: join(work, 'tmp-1'),
      OS_IMAGES: JSON.stringify(catalog),
    });
    try {
      const state = await settledState(app);
      expect(state.status).toBe('failed');
      expect(state.reason).toMatch(/^no space left on device: /);
      expect(await readdir(dataDir)).toEqual([]);
      expect((await fetch(`${app.baseUrl}/live`)).status).toBe(200);
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('fails a minimal ISO template build with "no space", leaves no partial template, and keeps serving', async () => {
    const dataDir = join(work, 'data-template');
    // Room for the ISO and nmstate.img, not for a template of about the ISO's size next to it.
    const problem = await mountTmpfs(dataDir, small.size + 768 * 1024);
    if (problem !== undefined) throw new Error(`cannot mount a tmpfs here (run as root): ${problem}`);
    const catalog = [
      { openshift_version: '4.18', cpu_architecture: 'x86_64', url: `file://${small.path}`, version: VERSION },
    ];
    const app = await startTestApp({
      DATA_DIR: dataDir,
      DATA_TEMP_DIR: join(work, 'tmp-2'),
      OS_IMAGES: JSON.stringify(catalog),
      IMAGE_SERVICE_BASE_URL: 'http://127.0.0.1:1',
    });
    try {
      const state = await settledState(app);
      expect(state.status).toBe('failed');
      expect(state.reason).toMatch(/^no space left on device: .*minimal ISO template/);
      expect((await readdir(dataDir)).filter((name) => name.includes('minimal'))).toEqual([]);
      expect((await fetch(`${app.baseUrl}/live`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
