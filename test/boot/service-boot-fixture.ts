// What the service-boot tests serve (a bootable fixture ISO, one infra-env's Ignition, kargs and ramdisk) and how
// they check that a guest saw exactly that, whether QEMU read the ISO from a file or from the service's URL.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from '@jest/globals';
import { fixtureNmstatectl } from '../fixtures/fixture-rootfs.js';
import { startDownloadEnv, type DownloadEnv } from '../support/download-env.js';
import type { InfraEnvFixture } from '../support/fake-assisted-service.js';
import { buildBootableIso, type BootableIso } from './bootable-fixture.js';
import type { BootReport } from './qemu.js';
import { systemCpioRamdisk } from './system-ramdisk.js';

/** ≥ 4.18.0-ec.0, so the minimal ISO and the PXE initrd carry nmstate.img (docs/live-iso.md). */
export const OPENSHIFT_VERSION = '4.18';
const RHCOS_VERSION = '418.94.202502020000-0';
const VOLUME_ID = `rhcos-${RHCOS_VERSION}`;
/** Only written into boot menus; the guest never fetches it. */
const IMAGE_SERVICE_BASE_URL = 'http://127.0.0.1:1';
export const EXPECTED_ROOTFS_URL = `${IMAGE_SERVICE_BASE_URL}/boot-artifacts/rootfs?arch=x86_64&version=${RHCOS_VERSION}`;
export const EXTRA_KARGS = ['boottest.karg=1', 'ip=dhcp'];
export const ROOTFS_URL_ARG = 'coreos.live.rootfs_url=';
export const LIVEISO_ARG = 'coreos.liveiso=';

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

export interface ServiceBootEnv {
  readonly iso: BootableIso;
  readonly env: DownloadEnv;
  /** An infra-env with this file's Ignition, ramdisk and kargs under `id`, for the stand-in assisted-service. */
  infraEnv(id: string): InfraEnvFixture;
}

/**
 * The bootable fixture ISO cataloged for OPENSHIFT_VERSION and the real service in front of a stand-in
 * assisted-service that knows `infraEnvIds` (more can be added later with `env.assisted.addInfraEnv`).
 */
export async function startServiceBootEnv(
  work: string,
  infraEnvIds: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<ServiceBootEnv> {
  const iso = await buildBootableIso(path.join(work, 'base.iso'), { volumeId: VOLUME_ID });
  const ramdisk = await systemCpioRamdisk(work, RAMDISK_FILES);
  const infraEnv = (id: string): InfraEnvFixture => ({
    id,
    ignition: IGNITION,
    ramdisk,
    kernelArguments: JSON.stringify(EXTRA_KARGS.map((value) => ({ operation: 'append', value }))),
  });
  const env = await startDownloadEnv({
    fixtures: [{ name: 'bootable', openshiftVersion: OPENSHIFT_VERSION, version: RHCOS_VERSION, prebuilt: iso }],
    infraEnvs: infraEnvIds.map(infraEnv),
    env: { IMAGE_SERVICE_BASE_URL, ...extraEnv },
  });
  return { iso, env, infraEnv };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function cmdlineArgs(cmdline: string): string[] {
  return cmdline.split(/\s+/).filter((arg) => arg !== '');
}

/** GRUB unquotes `"…"` before the kernel sees it; isolinux passes the quotes through verbatim. */
function rootfsUrls(args: readonly string[]): string[] {
  return args
    .filter((arg) => arg.startsWith(ROOTFS_URL_ARG))
    .map((arg) => arg.slice(ROOTFS_URL_ARG.length).replace(/^"(.*)"$/, '$1'));
}

export function expectIgnition(report: BootReport): void {
  expect(report.ignition).toBeDefined();
  expect(report.ignition?.equals(IGNITION)).toBe(true);
}

export function expectRamdiskFiles(report: BootReport): void {
  expect([...report.files.keys()].sort()).toEqual(
    Object.keys(RAMDISK_FILES)
      .map((file) => `/${file}`)
      .sort(),
  );
  for (const [file, data] of Object.entries(RAMDISK_FILES)) {
    expect(report.files.get(`/${file}`)).toEqual(data);
  }
}

/** The customised full ISO: its Ignition and extra kargs, no ramdisk, no nmstatectl. */
export function expectFullIsoBoot(report: BootReport, iso: BootableIso): void {
  // The karg area becomes `<default> <extra>`.
  expect(report.cmdline).toContain(`${iso.defaultKargs} ${EXTRA_KARGS.join(' ')}`);
  expect(cmdlineArgs(report.cmdline)).toContain(`${LIVEISO_ARG}${VOLUME_ID}`);
  expect(rootfsUrls(cmdlineArgs(report.cmdline))).toEqual([]);
  expectIgnition(report);
  expect(report.files.size).toBe(0);
  expect(report.nmstatectlSha256).toBeUndefined();
}

/** The minimal ISO: the rootfs URL instead of the ISO check, Ignition, kargs, ramdisk files and nmstatectl. */
export function expectMinimalIsoBoot(report: BootReport, iso: BootableIso): void {
  const args = cmdlineArgs(report.cmdline);
  expect(rootfsUrls(args)).toEqual([EXPECTED_ROOTFS_URL]);
  expect(args.filter((arg) => arg.startsWith(LIVEISO_ARG))).toEqual([]);
  for (const arg of [...cmdlineArgs(iso.defaultKargs).filter((a) => !a.startsWith(LIVEISO_ARG)), ...EXTRA_KARGS]) {
    expect(args).toContain(arg);
  }
  expectIgnition(report);
  expectRamdiskFiles(report);
  expect(report.nmstatectlSha256).toBe(expectedNmstatectlSha256());
}

/** The nmstatectl the guest should report for the minimal ISO and the PXE initrd. */
export function expectedNmstatectlSha256(): string {
  return sha256(fixtureNmstatectl(VOLUME_ID));
}
