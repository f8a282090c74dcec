// Proves the boot harness on the plain bootable fixture: every firmware path boots it unattended, and a
// direct kernel boot sees every extra initrd it is given.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildIgnitionPayload, buildNmstateRamdisk } from '../../src/iso/index.js';
import { buildBootableIso, missingBootableIsoTools, type BootableIso } from './bootable-fixture.js';
import { buildGuestInitramfs } from './guest-initramfs.js';
import { systemCpioRamdisk } from './system-ramdisk.js';
import { QemuBootError, bootAndReport, qemuAvailable, type BootMode, type BootReport } from './qemu.js';

const availability = await qemuAvailable();
if (!availability.ok) console.warn(`skipping boot harness tests: ${availability.reason}`);
const missingIsoTools = await missingBootableIsoTools();
if (missingIsoTools.length > 0) console.warn(`skipping ISO boot tests: missing tools ${missingIsoTools.join(', ')}`);

const ISO_MODES: BootMode[] = ['bios-cdrom', 'uefi-cdrom', 'bios-disk', 'uefi-disk'];
const BOOT_TEST_TIMEOUT_MS = 150_000;

function logBoot(label: string, report: BootReport): void {
  console.log(`boot ${label}: ${report.seconds.toFixed(1)} s`);
}

function padTo4(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('boot harness', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boot-harness-'));
  });

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  describe('plain bootable fixture ISO', () => {
    let iso: BootableIso;

    beforeAll(async () => {
      iso = await buildBootableIso(path.join(work, 'bootable.iso'));
    });

    for (const mode of ISO_MODES) {
      it(
        `boots unattended from ${mode} with the default kargs and no Ignition`,
        async () => {
          const report = await bootAndReport({ mode, image: iso.path });
          logBoot(mode, report);
          expect(iso.defaultKargs).toContain(`coreos.liveiso=${iso.volumeId}`);
          expect(report.cmdline).toContain(iso.defaultKargs);
          expect(report.cmdline).toContain('BOOT_IMAGE=/images/pxeboot/vmlinuz');
          expect(report.ignition).toBeUndefined();
          expect(report.files.size).toBe(0);
          expect(report.nmstatectlSha256).toBeUndefined();
        },
        BOOT_TEST_TIMEOUT_MS,
      );
    }
  });

  it(
    'boots a direct kernel and reports Ignition, ramdisk files and nmstatectl byte-exact',
    async () => {
      const ignition = Buffer.from(
        JSON.stringify({
          ignition: { version: '3.2.0' },
          storage: { files: [{ path: '/etc/motd', contents: { source: `data:,${'héllo wörld '.repeat(800)}` } }] },
        }),
      );
      const smallFile = Buffer.from('[connection]\nid=eth0\ntype=ethernet\n');
      const bigFile = randomBytes(100 * 1024);
      const nmstatectl = randomBytes(200 * 1024);
      const guest = path.join(work, 'guest.img');
      await buildGuestInitramfs(guest);
      const ramdisk = await systemCpioRamdisk(work, {
        'etc/assisted/manifests/cluster.yaml': Buffer.from('kind: Cluster\n'),
        'etc/assisted/big.bin': bigFile,
        'etc/NetworkManager/system-connections/eth0.nmconnection': smallFile,
      });
      const initrd = path.join(work, 'direct-initrd.img');
      await writeFile(
        initrd,
        Buffer.concat([
          await readFile(guest),
          await buildIgnitionPayload(ignition),
          padTo4(ramdisk),
          buildNmstateRamdisk(nmstatectl),
        ]),
      );
      const append = 'console=ttyS0 ignition.firstboot ignition.platform.id=metal';

      const report = await bootAndReport({ mode: 'direct-kernel', initrd, append });
      logBoot('direct-kernel', report);

      expect(report.cmdline).toContain(append);
      expect(report.ignition?.equals(ignition)).toBe(true);
      expect(report.files.get('/etc/assisted/manifests/cluster.yaml')).toEqual(Buffer.from('kind: Cluster\n'));
      expect(report.files.get('/etc/NetworkManager/system-connections/eth0.nmconnection')).toEqual(smallFile);
      expect(report.files.get('/etc/assisted/big.bin')).toEqual({ size: bigFile.length, sha256: sha256(bigFile) });
      expect(report.files.size).toBe(3);
      expect(report.nmstatectlSha256).toBe(sha256(nmstatectl));
    },
    BOOT_TEST_TIMEOUT_MS,
  );

  it(
    'fails with the serial log tail when the guest dies without a report',
    async () => {
      const initrd = path.join(work, 'ignition-only.img');
      await writeFile(initrd, await buildIgnitionPayload(Buffer.from('{}')));
      // No /init: the kernel panics, panic=-1 reboots at once and -no-reboot turns that into an exit.
      const boot = bootAndReport({ mode: 'direct-kernel', initrd, append: 'console=ttyS0 panic=-1' });
      await expect(boot).rejects.toThrow(QemuBootError);
      await expect(boot).rejects.toThrow(/exited .* without a boot report[\s\S]*Kernel panic/);
    },
    BOOT_TEST_TIMEOUT_MS,
  );

  it(
    'kills a boot that outlives its timeout',
    async () => {
      const guest = path.join(work, 'guest-for-timeout.img');
      await buildGuestInitramfs(guest);
      const boot = bootAndReport({ mode: 'direct-kernel', initrd: guest, append: 'console=ttyS0', timeoutMs: 1_500 });
      await expect(boot).rejects.toThrow(/timed out after [\d.]+ s without a boot report/);
    },
    BOOT_TEST_TIMEOUT_MS,
  );
});
