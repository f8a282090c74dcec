/**
 * Where a live ISO keeps what a download rewrites or serves: the Ignition area, the kernel-argument areas and
 * the boot files. Computed once per cached image and shared by every request for it.
 */
import { IGNINFO_PATH, resolveIgnitionArea, type IgnitionArea } from './ignition-area.js';
import { readIsoFileBytes } from './iso9660.js';
import type { IsoFile, IsoIndex } from './iso9660-types.js';
import { KARGS_JSON_PATH, resolveKargsAreas, type KargsArea } from './kargs-areas.js';

export const BOOT_FILE_PATHS = {
  initrd: 'images/pxeboot/initrd.img',
  kernel: 'images/pxeboot/vmlinuz',
  s390xKernel: 'images/pxeboot/kernel.img',
  rootfs: 'images/pxeboot/rootfs.img',
  insFile: 'generic.ins',
  initrdAddrsize: 'images/initrd.addrsize',
  ramdiskArea: 'images/assisted_installer_custom.img',
} as const;

export interface LiveIsoFiles {
  readonly initrd?: IsoFile;
  /** `images/pxeboot/vmlinuz`, else (s390x) `images/pxeboot/kernel.img`. */
  readonly kernel?: IsoFile;
  readonly rootfs?: IsoFile;
  readonly insFile?: IsoFile;
  readonly initrdAddrsize?: IsoFile;
  /** The minimal ISO's ramdisk area. */
  readonly ramdiskArea?: IsoFile;
}

export interface LiveIsoLayout {
  readonly isoPath: string;
  readonly size: number;
  readonly ignitionArea: IgnitionArea;
  /** Empty when the image has no kernel-argument areas (s390x); `kargsUnavailable` says why. */
  readonly kargsAreas: readonly KargsArea[];
  readonly kargsUnavailable?: string;
  readonly files: LiveIsoFiles;
}

/** `size` is the ISO file's byte size. Fails only when the Ignition area cannot be found: nothing works without it. */
export async function analyzeLiveIso(
  isoPath: string,
  size: number,
  index: IsoIndex,
  arch: string,
): Promise<LiveIsoLayout> {
  const read = (file: IsoFile): Promise<Buffer> => readIsoFileBytes(isoPath, file);
  const readOptional = async (path: string): Promise<Buffer | undefined> => {
    const file = index.get(path);
    return file === undefined || file.isDirectory ? undefined : read(file);
  };
  const ignitionArea = resolveIgnitionArea(index, await readOptional(IGNINFO_PATH));
  const kargs =
    arch === 's390x'
      ? { areas: [], problem: 's390x images cannot take extra kernel arguments' }
      : await kargsAreasOf(index, await readOptional(KARGS_JSON_PATH), read);
  return {
    isoPath,
    size,
    ignitionArea,
    kargsAreas: kargs.areas,
    ...(kargs.problem === undefined ? {} : { kargsUnavailable: kargs.problem }),
    files: bootFiles(index),
  };
}

async function kargsAreasOf(
  index: IsoIndex,
  kargsJson: Buffer | undefined,
  read: (file: IsoFile) => Promise<Buffer>,
): Promise<{ areas: KargsArea[]; problem?: string }> {
  try {
    const areas = await resolveKargsAreas(index, kargsJson, read);
    return areas.length > 0 ? { areas } : { areas, problem: 'the image has no kernel-argument embed area' };
  } catch (error) {
    // An image without usable areas still serves every request that adds no kernel arguments.
    return { areas: [], problem: error instanceof Error ? error.message : String(error) };
  }
}

function bootFiles(index: IsoIndex): LiveIsoFiles {
  const file = (path: string): IsoFile | undefined => {
    const entry = index.get(path);
    return entry === undefined || entry.isDirectory ? undefined : entry;
  };
  const entries: [keyof LiveIsoFiles, IsoFile | undefined][] = [
    ['initrd', file(BOOT_FILE_PATHS.initrd)],
    ['kernel', file(BOOT_FILE_PATHS.kernel) ?? file(BOOT_FILE_PATHS.s390xKernel)],
    ['rootfs', file(BOOT_FILE_PATHS.rootfs)],
    ['insFile', file(BOOT_FILE_PATHS.insFile)],
    ['initrdAddrsize', file(BOOT_FILE_PATHS.initrdAddrsize)],
    ['ramdiskArea', file(BOOT_FILE_PATHS.ramdiskArea)],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined)) as LiveIsoFiles;
}
