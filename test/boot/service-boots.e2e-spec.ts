// Boots what the running service serves — the customised full ISO, the minimal ISO and the PXE kernel + initrd —
// in QEMU, and checks that the guest saw exactly what assisted-service handed out (docs/live-iso.md).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DownloadEnv } from '../support/download-env.js';
import { httpGet } from '../support/http-client.js';
import type { BootableIso } from './bootable-fixture.js';
import { bootAndReport, qemuAvailable, type BootMode, type BootReport } from './qemu.js';
import {
  EXPECTED_ROOTFS_URL,
  EXTRA_KARGS,
  LIVEISO_ARG,
  OPENSHIFT_VERSION,
  ROOTFS_URL_ARG,
  cmdlineArgs,
  expectFullIsoBoot,
  expectIgnition,
  expectMinimalIsoBoot,
  expectRamdiskFiles,
  expectedNmstatectlSha256,
  startServiceBootEnv,
} from './service-boot-fixture.js';

const availability = await qemuAvailable();
if (!availability.ok) console.warn(`skipping service boot tests: ${availability.reason}`);

const INFRA_ENV_ID = '5e1f0c2a-7b3d-4e8f-9a6b-1c2d3e4f5a6b';

/** CD through SeaBIOS + isolinux and OVMF + GRUB; hard disk (a USB stick) through the hybrid MBR and the ESP. */
const ISO_MODES: readonly BootMode[] = ['bios-cdrom', 'uefi-cdrom', 'bios-disk', 'uefi-disk'];
const BOOT_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 180_000;
const SETUP_TIMEOUT_MS = 180_000;

interface Artifacts {
  fullIso: string;
  minimalIso: string;
  kernel: string;
  pxeInitrd: string;
}

async function download(url: string, to: string): Promise<string> {
  const response = await httpGet(url);
  if (response.status !== 200) {
    throw new Error(`GET ${url} answered ${response.status}: ${response.body.toString('utf8', 0, 500)}`);
  }
  await writeFile(to, response.body);
  return to;
}

async function downloadArtifacts(baseUrl: string, dir: string): Promise<Artifacts> {
  const image = `${baseUrl}/images/${INFRA_ENV_ID}`;
  const query = `version=${OPENSHIFT_VERSION}&arch=x86_64`;
  return {
    fullIso: await download(`${image}?${query}&type=full-iso`, path.join(dir, 'full.iso')),
    minimalIso: await download(`${image}?${query}&type=minimal-iso`, path.join(dir, 'minimal.iso')),
    kernel: await download(`${baseUrl}/boot-artifacts/kernel?${query}`, path.join(dir, 'vmlinuz')),
    pxeInitrd: await download(`${image}/pxe-initrd?${query}`, path.join(dir, 'initrd.img')),
  };
}

async function boot(label: string, request: Parameters<typeof bootAndReport>[0]): Promise<BootReport> {
  const report = await bootAndReport({ timeoutMs: BOOT_TIMEOUT_MS, ...request });
  console.log(`boot ${label}: ${report.seconds.toFixed(1)} s`);
  return report;
}

/** What a PXE config passes: the live kargs without the ISO check, the rootfs URL and the infra-env's kargs. */
function pxeKernelArguments(defaultKargs: string): string {
  const live = cmdlineArgs(defaultKargs).filter((arg) => !arg.startsWith(LIVEISO_ARG) && arg !== 'console=ttyS0');
  return [...live, `${ROOTFS_URL_ARG}${EXPECTED_ROOTFS_URL}`, ...EXTRA_KARGS, 'console=ttyS0'].join(' ');
}

describe('booting what the service serves', () => {
  let work: string;
  let iso: BootableIso;
  let env: DownloadEnv | undefined;
  let artifacts: Artifacts;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'service-boots-'));
    ({ iso, env } = await startServiceBootEnv(work, [INFRA_ENV_ID]));
    artifacts = await downloadArtifacts(env.app.baseUrl, work);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await env?.close();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  for (const mode of ISO_MODES) {
    it(
      `full ISO from ${mode}: its Ignition and extra kargs, no ramdisk, no nmstatectl`,
      async () => {
        const report = await boot(`full-iso ${mode}`, { mode, image: artifacts.fullIso });
        expectFullIsoBoot(report, iso);
      },
      TEST_TIMEOUT_MS,
    );
  }

  for (const mode of ISO_MODES) {
    it(
      `minimal ISO from ${mode}: rootfs URL, Ignition, kargs, ramdisk files and nmstatectl`,
      async () => {
        const report = await boot(`minimal-iso ${mode}`, { mode, image: artifacts.minimalIso });
        expectMinimalIsoBoot(report, iso);
      },
      TEST_TIMEOUT_MS,
    );
  }

  it(
    'PXE: the served kernel with the served initrd sees Ignition, ramdisk files and nmstatectl',
    async () => {
      expect((await readFile(artifacts.kernel)).equals(await readFile(iso.kernelPath))).toBe(true);
      const append = pxeKernelArguments(iso.defaultKargs);
      const report = await boot('pxe direct-kernel', {
        mode: 'direct-kernel',
        kernel: artifacts.kernel,
        initrd: artifacts.pxeInitrd,
        append,
      });
      expect(report.cmdline).toContain(append);
      expectIgnition(report);
      expectRamdiskFiles(report);
      expect(report.nmstatectlSha256).toBe(expectedNmstatectlSha256());
    },
    TEST_TIMEOUT_MS,
  );
});
