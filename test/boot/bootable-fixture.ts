// A fixture live ISO that really boots: the host's Debian kernel, the reporting guest initramfs, a real
// GRUB for UEFI and isolinux for BIOS, laid out like RHCOS so the service can customise it.
import {
  DEFAULT_FIXTURE_VOLUME_ID,
  buildFixtureIso,
  missingFixtureTools,
  type FixtureIso,
  type FixtureIsoOptions,
} from '../fixtures/iso-fixture.js';
import { guestInitramfs } from './guest-initramfs.js';
import { requireHostKernel } from './host-kernel.js';

export type BootableIsoOptions = Omit<FixtureIsoOptions, 'outPath' | 'arch' | 'kernel'>;

export interface BootableIso extends FixtureIso {
  /** The host kernel grafted as images/pxeboot/vmlinuz. */
  kernelPath: string;
}

/**
 * RHCOS's live kargs plus the serial console the harness reads. `coreos.liveiso=` stays so the minimal-ISO
 * edit (which drops it) has something to drop.
 */
function bootableDefaultKargs(volumeId: string): string {
  return `coreos.liveiso=${volumeId} ignition.firstboot ignition.platform.id=metal console=ttyS0`;
}

/** Menus still show (as on RHCOS) but boot their default entry almost at once. */
const BOOT_DEFAULTS = { grubTimeoutSeconds: 1, isolinuxTimeoutTenths: 1 } as const;

export function missingBootableIsoTools(): Promise<string[]> {
  return missingFixtureTools({ arch: 'x86_64', elTorito: true, efiGrub: true });
}

export async function buildBootableIso(outPath: string, opts: BootableIsoOptions = {}): Promise<BootableIso> {
  const kernelPath = await requireHostKernel();
  const volumeId = opts.volumeId ?? DEFAULT_FIXTURE_VOLUME_ID;
  const iso = await buildFixtureIso({
    ...BOOT_DEFAULTS,
    defaultKargs: bootableDefaultKargs(volumeId),
    ...opts,
    outPath,
    arch: 'x86_64',
    volumeId,
    kernel: kernelPath,
    initrd: opts.initrd ?? (await guestInitramfs()),
    efiGrub: opts.efiGrub ?? true,
    elTorito: opts.elTorito ?? true,
  });
  return { ...iso, kernelPath };
}
