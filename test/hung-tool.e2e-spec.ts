import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso, type FixtureIso } from './fixtures/iso-fixture.js';
import { freePort } from './support/free-port.js';
import { httpGet, jsonOf } from './support/http-client.js';
import { spawnService, type ServiceProcess } from './support/service-process.js';
import { waitFor } from './support/test-app.js';

const VERSION = '416.94.1-0';
const X86_FILE = `rhcos-full-iso-${VERSION}-x86_64.iso`;
const S390X_FILE = `rhcos-full-iso-${VERSION}-s390x.iso`;
const TIMEOUT_REASON = /xorriso did not finish within 2 s \(TOOL_TIMEOUT_SECONDS\)/;

interface ImageHealth {
  status: string;
  step?: string;
  reason?: string;
  lastFailure?: { reason: string };
}

let work: string;
let x86: FixtureIso;
let s390x: FixtureIso;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hung-tool-'));
  [x86, s390x] = await Promise.all([
    buildFixtureIso({ outPath: join(work, 'x86.iso') }),
    buildFixtureIso({ outPath: join(work, 's390x.iso'), arch: 's390x' }),
  ]);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/**
 * A directory holding an `xorriso` that hangs the way a tool stuck on I/O does, behind a helper process: it starts
 * `sleep`, appends "<its pid> <sleep's pid>" to `pidsFile` and waits.
 */
async function hangingXorriso(pidsFile: string): Promise<string> {
  const bin = join(work, 'bin');
  await mkdir(bin, { recursive: true });
  const script = `#!/bin/sh\nsleep 600 &\necho "$$ $!" >> '${pidsFile}'\nwait\n`;
  await writeFile(join(bin, 'xorriso'), script);
  await chmod(join(bin, 'xorriso'), 0o755);
  return bin;
}

/** One line per xorriso run: [script pid, helper pid]. */
async function xorrisoRuns(pidsFile: string): Promise<[number, number][]> {
  const text = await readFile(pidsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [script = 0, helper = 0] = line.split(' ').map(Number);
      return [script, helper];
    });
}

/** True while the process exists and is not a zombie. */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z /.test(stat);
}

/** Kills what is left of the fake tool, checking first that the pid still is one of its processes. */
async function killLeftovers(pids: number[]): Promise<void> {
  for (const pid of pids) {
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (/^(sleep|\/bin\/sh)\0/.test(command) || command.includes('xorriso')) process.kill(pid, 'SIGKILL');
  }
}

describe('a hung child process', () => {
  it('fails only its image, on a time limit, and leaves no process behind', async () => {
    const pidsFile = join(work, 'xorriso-runs');
    const bin = await hangingXorriso(pidsFile);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const service: ServiceProcess = spawnService({
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      LISTEN_PORT: String(port),
      DATA_DIR: join(work, 'data'),
      DATA_TEMP_DIR: join(work, 'tmp'),
      TOOL_TIMEOUT_SECONDS: '2',
      OS_IMAGES: JSON.stringify([
        // A full x86_64 ISO with a rootfs URL gets a minimal ISO template: xorriso runs, and hangs.
        {
          openshift_version: '4.16',
          cpu_architecture: 'x86_64',
          url: `file://${x86.path}`,
          version: VERSION,
          rootfs_url: 'http://127.0.0.1:1/rootfs.img',
        },
        // s390x images have no template: nothing hangs for them.
        { openshift_version: '4.16', cpu_architecture: 's390x', url: `file://${s390x.path}`, version: VERSION },
      ]),
    });
    const health = async (): Promise<{ code: number; images: Record<string, ImageHealth> }> => {
      const response = await fetch(`${base}/health`);
      return {
        code: response.status,
        images: ((await response.json()) as { details: { images: Record<string, ImageHealth> } }).details.images,
      };
    };
    const artifact = (arch: string): Promise<Awaited<ReturnType<typeof httpGet>>> =>
      httpGet(`${base}/boot-artifacts/kernel?version=4.16&arch=${arch}`);

    try {
      await waitFor(
        async () =>
          (await health().catch(() => undefined))?.images[S390X_FILE]?.status === 'ready' ? true : undefined,
        30_000,
        's390x to be ready',
      );

      // While an xorriso run is alive, x86_64 is being prepared. Requests made within one run's lifetime prove that the
      // s390x image is served meanwhile; a busy machine may need the next attempt to fit them in.
      const duringPreparation = await waitFor(
        async () => {
          const run = (await xorrisoRuns(pidsFile)).at(-1);
          if (run === undefined || !(await isRunning(run[0]))) return undefined;
          const served = await artifact('s390x');
          const waiting = await artifact('x86_64');
          return (await isRunning(run[0])) ? { served, waiting } : undefined;
        },
        120_000,
        'requests made while xorriso runs',
      );
      expect(duringPreparation.served.status).toBe(200);
      expect(duringPreparation.served.body.equals(s390x.files['images/pxeboot/vmlinuz'] ?? Buffer.alloc(0))).toBe(true);
      expect(duringPreparation.waiting.status).toBe(503);
      expect(jsonOf(duringPreparation.waiting).message).toMatch(
        new RegExp(
          `^${X86_FILE.replaceAll('.', '\\.')} is not ready: it is being prepared \\(building the minimal ISO template\\)`,
        ),
      );
      expect(duringPreparation.waiting.headers['retry-after']).toBe('30');

      // The time limit fails the x86_64 image with its reason; readiness holds (s390x is ready).
      const failed = await waitFor(
        async () => {
          const answer = await health();
          return answer.images[X86_FILE]?.status === 'failed' ? answer : undefined;
        },
        60_000,
        'x86_64 to fail',
      );
      expect(failed.images[X86_FILE]?.reason).toMatch(TIMEOUT_REASON);
      expect(failed.code).toBe(200);
      expect((await artifact('s390x')).status).toBe(200);
      const refused = await artifact('x86_64');
      expect(refused.status).toBe(503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(jsonOf(refused).message).toMatch(TIMEOUT_REASON);

      // A run that timed out was stopped with everything it started.
      const [first] = await xorrisoRuns(pidsFile);
      expect(first).toBeDefined();
      for (const pid of first ?? []) expect(await isRunning(pid)).toBe(false);

      service.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      // Shutdown stops a run still in progress (a retry may have started one).
      const all = (await xorrisoRuns(pidsFile)).flat();
      await waitFor(
        async () => ((await Promise.all(all.map(isRunning))).some(Boolean) ? undefined : true),
        20_000,
        'no xorriso or helper left running',
      );
    } finally {
      service.kill('SIGKILL');
      await service.exited;
      await killLeftovers((await xorrisoRuns(pidsFile)).flat());
    }
  });
});
