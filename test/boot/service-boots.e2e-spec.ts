// Boots what the running service serves — the customised full ISO, the minimal ISO and the PXE kernel + initrd —
// in QEMU, and checks that the guest saw exactly what assisted-service handed out (reference §5, §6, §7).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fixtureNmstatectl } from '../fixtures/fixture-rootfs.js';
import { startDownloadEnv, type DownloadEnv } from '../support/download-env.js';
import { httpGet } from '../support/http-client.js';
import { buildBootableIso, type BootableIso } from './bootable-fixture.js';
import { bootAndReport, qemuAvailable, type BootMode, type BootReport } from './qemu.js';
import { systemCpioRamdisk } from './system-ramdisk.js';

const availability = await qemuAvailable();
if (!availability.ok) console.warn(`skipping service boot tests: ${availability.reason}`);

const INFRA_ENV_ID = '5e1f0c2a-7b3d-4e8f-9a6b-1c2d3e4f5a6b';
/** ≥ 4.18.0-ec.0, so the minimal ISO and the PXE initrd carry nmstate.img (§6). */
const OPENSHIFT_VERSION = '4.18';
const RHCOS_VERSION = '418.94.202502020000-0';
const VOLUME_ID = `rhcos-${RHCOS_VERSION}`;
/** Only written into boot menus; the guest never fetches it. */
const IMAGE_SERVICE_BASE_URL = 'http://127.0.0.1:1';
const EXPECTED_ROOTFS_URL = `${IMAGE_SERVICE_BASE_URL}/boot-artifacts/rootfs?arch=x86_64&version=${RHCOS_VERSION}`;
const EXTRA_KARGS = ['boottest.karg=1', 'ip=dhcp'];
const ROOTFS_URL_ARG = 'coreos.live.rootfs_url=';
const LIVEISO_ARG = 'coreos.liveiso=';

/** A few KiB of Ignition JSON that cannot be mistaken for anything else and does not compress to nothing. */
const IGNITION = Buffer.from(
  JSON.stringify({
    ignition: { version: '3.2.0' },
    passwd: {
      users: [{ name: 'core', sshAuthorizedKeys: [`ssh-ed25519 ${randomBytes(32).toString('base64')} boot-test`] }],
    },
    storage: {
      files: [
        { path: '/etc/boot-test', contents: { source: `data:;base64,${randomBytes(3_000).toString('base64')}` } },
      ],
    },
  }),
);

const RAMDISK_FILES: Readonly<Record<string, Buffer>> = {
  'etc/assisted/network/host.nmconnection': Buffer.from(
    `[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=manual\naddress1=192.0.2.10/24,192.0.2.1\n# ${randomBytes(8).toString('hex')}\n`,
  ),
  'etc/assisted/hostconfig.json': Buffer.from(
    `${JSON.stringify([{ 'mac-interface-map': [{ logical_nic_name: 'eth0', mac_address: '52:54:00:12:34:56' }], nonce: randomBytes(8).toString('hex') }])}\n`,
  ),
};

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

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
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

function cmdlineArgs(cmdline: string): string[] {
  return cmdline.split(/\s+/).filter((arg) => arg !== '');
}

/** GRUB unquotes `"…"` before the kernel sees it; isolinux passes the quotes through verbatim. */
function rootfsUrls(args: readonly string[]): string[] {
  return args
    .filter((arg) => arg.startsWith(ROOTFS_URL_ARG))
    .map((arg) => arg.slice(ROOTFS_URL_ARG.length).replace(/^"(.*)"$/, '$1'));
}

/** What a PXE config passes: the live kargs without the ISO check, the rootfs URL and the infra-env's kargs. */
function pxeKernelArguments(defaultKargs: string): string {
  const live = cmdlineArgs(defaultKargs).filter((arg) => !arg.startsWith(LIVEISO_ARG) && arg !== 'console=ttyS0');
  return [...live, `${ROOTFS_URL_ARG}${EXPECTED_ROOTFS_URL}`, ...EXTRA_KARGS, 'console=ttyS0'].join(' ');
}

function expectIgnition(report: BootReport): void {
  expect(report.ignition).toBeDefined();
  expect(report.ignition?.equals(IGNITION)).toBe(true);
}

function expectRamdiskFiles(report: BootReport): void {
  expect([...report.files.keys()].sort()).toEqual(
    Object.keys(RAMDISK_FILES)
      .map((file) => `/${file}`)
      .sort(),
  );
  for (const [file, data] of Object.entries(RAMDISK_FILES)) {
    expect(report.files.get(`/${file}`)).toEqual(data);
  }
}

describe('booting what the service serves', () => {
  let work: string;
  let iso: BootableIso;
  let env: DownloadEnv | undefined;
  let artifacts: Artifacts;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'service-boots-'));
    iso = await buildBootableIso(path.join(work, 'base.iso'), { volumeId: VOLUME_ID });
    const ramdisk = await systemCpioRamdisk(work, RAMDISK_FILES);
    env = await startDownloadEnv({
      fixtures: [{ name: 'bootable', openshiftVersion: OPENSHIFT_VERSION, version: RHCOS_VERSION, prebuilt: iso }],
      infraEnvs: [
        {
          id: INFRA_ENV_ID,
          ignition: IGNITION,
          ramdisk,
          kernelArguments: JSON.stringify(EXTRA_KARGS.map((value) => ({ operation: 'append', value }))),
        },
      ],
      env: { IMAGE_SERVICE_BASE_URL },
    });
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
        // §5: the karg area becomes `<default> <extra>`.
        expect(report.cmdline).toContain(`${iso.defaultKargs} ${EXTRA_KARGS.join(' ')}`);
        expect(cmdlineArgs(report.cmdline)).toContain(`${LIVEISO_ARG}${VOLUME_ID}`);
        expect(rootfsUrls(cmdlineArgs(report.cmdline))).toEqual([]);
        expectIgnition(report);
        expect(report.files.size).toBe(0);
        expect(report.nmstatectlSha256).toBeUndefined();
      },
      TEST_TIMEOUT_MS,
    );
  }

  for (const mode of ISO_MODES) {
    it(
      `minimal ISO from ${mode}: rootfs URL, Ignition, kargs, ramdisk files and nmstatectl`,
      async () => {
        const report = await boot(`minimal-iso ${mode}`, { mode, image: artifacts.minimalIso });
        const args = cmdlineArgs(report.cmdline);
        expect(rootfsUrls(args)).toEqual([EXPECTED_ROOTFS_URL]);
        expect(args.filter((arg) => arg.startsWith(LIVEISO_ARG))).toEqual([]);
        for (const arg of [
          ...cmdlineArgs(iso.defaultKargs).filter((a) => !a.startsWith(LIVEISO_ARG)),
          ...EXTRA_KARGS,
        ]) {
          expect(args).toContain(arg);
        }
        expectIgnition(report);
        expectRamdiskFiles(report);
        expect(report.nmstatectlSha256).toBe(sha256(fixtureNmstatectl(VOLUME_ID)));
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
      expect(report.nmstatectlSha256).toBe(sha256(fixtureNmstatectl(VOLUME_ID)));
    },
    TEST_TIMEOUT_MS,
  );
});
