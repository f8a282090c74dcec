import { stat } from 'node:fs/promises';
import { IsoFormatError, readIsoIndex, type IsoIndex } from '../iso/index.js';
import type { CpuArchitecture } from './os-image.js';

/** A downloaded or cached file that is not a usable live ISO; the message is the reason shown in the image state. */
export class ImageValidationError extends Error {
  override name = 'ImageValidationError';
}

/** Volume ID prefixes of CoreOS live ISOs (RHCOS, its newer `rhel-coreos-` spelling, Fedora CoreOS, CentOS Stream CoreOS). */
const VOLUME_ID_PREFIXES = ['rhcos-', 'rhel-coreos-', 'fedora-coreos-', 'scos-'];
const ROOTFS_PATH = 'images/pxeboot/rootfs.img';
const KERNEL_PATHS: Readonly<Record<CpuArchitecture, readonly string[]>> = {
  x86_64: ['images/pxeboot/vmlinuz'],
  arm64: ['images/pxeboot/vmlinuz'],
  ppc64le: ['images/pxeboot/vmlinuz'],
  s390x: ['images/pxeboot/vmlinuz', 'images/pxeboot/kernel.img'],
};

/**
 * Checks a file is a complete CoreOS live ISO for `arch` (reference §4): ISO 9660 with a CoreOS volume ID, not
 * shorter than its volume, holding the rootfs and the kernel. Returns the index for later steps to reuse.
 */
export async function validateBaseImage(path: string, arch: CpuArchitecture): Promise<IsoIndex> {
  const index = await readIndex(path);
  if (!VOLUME_ID_PREFIXES.some((prefix) => index.volumeId.startsWith(prefix))) {
    throw new ImageValidationError(
      `volume ID "${index.volumeId}" is not a CoreOS live ISO (expected ${VOLUME_ID_PREFIXES.join(', ')}…)`,
    );
  }
  const { size } = await stat(path);
  const volumeBytes = index.volumeSpaceSize * index.blockSize;
  if (size < volumeBytes)
    throw new ImageValidationError(`file is truncated: ${size} bytes, the ISO volume needs ${volumeBytes}`);
  if (index.get(ROOTFS_PATH) === undefined) throw new ImageValidationError(`${ROOTFS_PATH} is missing`);
  const kernels = KERNEL_PATHS[arch];
  if (!kernels.some((kernel) => index.get(kernel) !== undefined)) {
    throw new ImageValidationError(`no kernel: ${kernels.join(' or ')} is missing`);
  }
  return index;
}

async function readIndex(path: string): Promise<IsoIndex> {
  try {
    return await readIsoIndex(path);
  } catch (error) {
    if (error instanceof IsoFormatError) throw new ImageValidationError(error.message);
    throw error;
  }
}
