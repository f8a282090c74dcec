// Pure: the qemu-system-x86_64 command line for one boot of the harness.

export type BootMode =
  'bios-cdrom' | 'uefi-cdrom' | 'bios-disk' | 'uefi-disk' | 'bios-http-cdrom' | 'uefi-http-cdrom' | 'direct-kernel';

export interface BootRequest {
  mode: BootMode;
  /** ISO path, for the cdrom and disk modes. */
  image?: string;
  /**
   * http-cdrom modes: the ISO's http:// URL. QEMU's curl block driver (Debian package qemu-block-extra) reads it
   * as a BMC's virtual media does: many Range requests on kept-alive connections, nothing stored locally.
   */
  url?: string;
  /** http-cdrom modes: what the curl driver fetches beyond each read, a multiple of 512 (QEMU's default: 256 KiB). */
  readaheadBytes?: number;
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

/**
 * The curl driver's limit per transfer, in seconds (QEMU's default is 5). The service shares the host's cores with
 * TCG, and a timed-out read reaches the guest as an I/O error that looks like a bad ISO, so it gets slack.
 */
const HTTP_TIMEOUT_SECONDS = 30;
/** The curl driver's cache is in 512-byte sectors. */
const READAHEAD_UNIT = 512;

export function isUefiMode(mode: BootMode): boolean {
  return mode === 'uefi-cdrom' || mode === 'uefi-disk' || mode === 'uefi-http-cdrom';
}

function isHttpMode(mode: BootMode): boolean {
  return mode === 'bios-http-cdrom' || mode === 'uefi-http-cdrom';
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
  if (isHttpMode(req.mode)) return httpCdromArgs(req);
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

/**
 * A CD whose medium is a URL. -blockdev's JSON form takes the URL as it is (a -drive string would need its commas
 * doubled), and bootindex puts the CD first under SeaBIOS and OVMF alike, as a BMC's virtual media boot does.
 */
function httpCdromArgs(req: BootRequest): string[] {
  if (req.url === undefined || !req.url.startsWith('http://')) {
    throw new BootRequestError(`${req.mode} needs an http:// URL`);
  }
  const readahead = req.readaheadBytes;
  if (
    readahead !== undefined &&
    (!Number.isSafeInteger(readahead) || readahead <= 0 || readahead % READAHEAD_UNIT !== 0)
  ) {
    throw new BootRequestError(`readahead must be a positive multiple of ${READAHEAD_UNIT} bytes, not ${readahead}`);
  }
  const blockdev = {
    driver: 'http',
    'node-name': 'vmedia',
    url: req.url,
    // The curl driver cannot write; without this QEMU refuses to open it.
    'read-only': true,
    timeout: HTTP_TIMEOUT_SECONDS,
    ...(readahead !== undefined && { readahead }),
  };
  return ['-blockdev', JSON.stringify(blockdev), '-device', 'ide-cd,drive=vmedia,bootindex=0'];
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
