// Pure: the qemu-system-x86_64 command line for one boot of the harness.

export type BootMode = 'bios-cdrom' | 'uefi-cdrom' | 'bios-disk' | 'uefi-disk' | 'direct-kernel';

export const BOOT_MODES: readonly BootMode[] = ['bios-cdrom', 'uefi-cdrom', 'bios-disk', 'uefi-disk', 'direct-kernel'];

export interface BootRequest {
  mode: BootMode;
  /** ISO path, for the cdrom and disk modes. */
  image?: string;
  /** direct-kernel: the kernel (default: the host's newest /boot/vmlinuz-*). */
  kernel?: string;
  /** direct-kernel: one initrd file (QEMU takes one; concatenate several first). */
  initrd?: string;
  /** direct-kernel: the kernel command line. */
  append?: string;
  /** Hard limit for the whole boot, default 90 s. */
  timeoutMs?: number;
}

export interface OvmfFirmware {
  code: string;
  vars: string;
}

/** Where one boot's resources are: firmware for UEFI modes, the resolved kernel for direct-kernel. */
export interface BootResources {
  /** A writable copy of the OVMF variable store (UEFI modes). */
  ovmfVarsCopy?: string;
  ovmf?: OvmfFirmware;
  kernel?: string;
}

export class BootRequestError extends Error {
  override readonly name = 'BootRequestError';
}

/**
 * TCG only: KVM may be present yet break inside isolinux. No NIC, no display, no default devices: the serial
 * line on stdout is the only output, and -no-reboot turns a guest reboot or failed power-off into an exit.
 */
const COMMON_ARGS = [
  '-accel',
  'tcg',
  '-machine',
  'pc',
  '-m',
  '512',
  '-smp',
  '1',
  '-nodefaults',
  '-nic',
  'none',
  '-display',
  'none',
  '-monitor',
  'none',
  '-no-reboot',
  '-serial',
  'stdio',
];

export function isUefiMode(mode: BootMode): boolean {
  return mode === 'uefi-cdrom' || mode === 'uefi-disk';
}

export function qemuArgs(req: BootRequest, resources: BootResources): string[] {
  return [...COMMON_ARGS, ...firmwareArgs(req.mode, resources), ...mediaArgs(req, resources)];
}

function firmwareArgs(mode: BootMode, resources: BootResources): string[] {
  if (!isUefiMode(mode)) return [];
  const { ovmf, ovmfVarsCopy } = resources;
  if (ovmf === undefined || ovmfVarsCopy === undefined) {
    throw new BootRequestError(`${mode} needs OVMF firmware and a writable copy of its variable store`);
  }
  return [
    '-drive',
    `if=pflash,format=raw,unit=0,readonly=on,file=${driveFile(ovmf.code)}`,
    '-drive',
    `if=pflash,format=raw,unit=1,file=${driveFile(ovmfVarsCopy)}`,
  ];
}

function mediaArgs(req: BootRequest, resources: BootResources): string[] {
  if (req.mode === 'direct-kernel') return directKernelArgs(req, resources);
  if (req.image === undefined) throw new BootRequestError(`${req.mode} needs an ISO image`);
  const file = driveFile(req.image);
  // The image is never written: read-only drives, so a test cannot corrupt a shared fixture.
  if (req.mode === 'bios-cdrom' || req.mode === 'uefi-cdrom') {
    const drive = ['-drive', `file=${file},format=raw,if=ide,media=cdrom,readonly=on`];
    return req.mode === 'bios-cdrom' ? [...drive, '-boot', 'order=d'] : drive;
  }
  // A hard disk boots through the isohybrid MBR (BIOS) or the EFI system partition (UEFI), as a USB stick does.
  const drive = ['-drive', `file=${file},format=raw,if=virtio,readonly=on`];
  return req.mode === 'bios-disk' ? [...drive, '-boot', 'order=c'] : drive;
}

function directKernelArgs(req: BootRequest, resources: BootResources): string[] {
  const kernel = req.kernel ?? resources.kernel;
  if (kernel === undefined) throw new BootRequestError('direct-kernel needs a kernel');
  if (req.initrd === undefined) throw new BootRequestError('direct-kernel needs an initrd');
  return ['-kernel', kernel, '-initrd', req.initrd, '-append', req.append ?? ''];
}

/** In -drive option strings a comma is a separator; QEMU escapes it by doubling. */
function driveFile(filePath: string): string {
  return filePath.replace(/,/g, ',,');
}
