/** A live ISO as the service uses it (see docs/live-iso.md): where it keeps what a download rewrites or serves. */
import { IgnitionTooLargeError } from './initramfs.js';
import { absoluteOffset, isJsonObject, parseJson, readIsoFileBytes, regularFile } from './iso9660.js';
import { IsoError, type IsoFile, type IsoIndex } from './iso9660.js';
import { KARGS_JSON_PATH, kargsPatches, resolveKargsAreas, type KargsArea } from './kargs.js';
import { fillArea, type Overwrite } from './virtual-file.js';

const IGNINFO_PATH = 'coreos/igninfo.json';
/** CPU architectures a catalog entry or a request may name, in their canonical spelling. */
export const CPU_ARCHITECTURES = ['x86_64', 'arm64', 'ppc64le', 's390x'] as const;
export type CpuArchitecture = (typeof CPU_ARCHITECTURES)[number];
const ARCH_ALIASES: Readonly<Record<string, CpuArchitecture>> = { amd64: 'x86_64', aarch64: 'arm64' };

export function normalizeArchitecture(name: string): CpuArchitecture | undefined {
  return Object.hasOwn(ARCH_ALIASES, name) ? ARCH_ALIASES[name] : CPU_ARCHITECTURES.find((arch) => arch === name);
}

export const BOOT_FILE_PATHS = {
  initrd: 'images/pxeboot/initrd.img',
  kernel: 'images/pxeboot/vmlinuz',
  s390xKernel: 'images/pxeboot/kernel.img',
  rootfs: 'images/pxeboot/rootfs.img',
  insFile: 'generic.ins',
  initrdAddrsize: 'images/initrd.addrsize',
  ramdiskArea: 'images/assisted_installer_custom.img',
} as const;

/** `kernel` is `images/pxeboot/vmlinuz`, else (s390x) `images/pxeboot/kernel.img`. */
type LiveIsoFiles = { readonly [name in Exclude<keyof typeof BOOT_FILE_PATHS, 's390xKernel'>]?: IsoFile };

/** Computed once per cached image and shared by every request for it. */
export interface LiveIsoLayout {
  readonly isoPath: string;
  readonly size: number;
  readonly ignitionArea: IgnitionArea;
  /** Empty when the image has no kernel-argument areas (s390x); `kargsUnavailable` says why. */
  readonly kargsAreas: readonly KargsArea[];
  readonly kargsUnavailable?: string;
  readonly files: LiveIsoFiles;
}

/** The ramdisk does not fit the minimal ISO's ramdisk area, or the image has none. */
export class RamdiskAreaError extends IsoError {
  /** `size` is undefined when reading stopped as soon as the ramdisk passed the area: only "more than" is known. */
  static tooLarge(size: number | undefined, areaSize: number): RamdiskAreaError {
    const what = `${size === undefined ? `more than ${areaSize}` : size} bytes`;
    return new RamdiskAreaError(`the static network ramdisk is ${what}, larger than the ${areaSize}-byte ramdisk area`);
  }
}

export class InitrdAddrsizeError extends IsoError {}
export class IgnitionAreaError extends IsoError {}

/** `file`: the ISO file holding the area, no leading slash; `offset`: absolute in the ISO. */
export type IgnitionArea = { file: string; offset: number; length: number };

export function resolveIgnitionArea(index: IsoIndex, igninfoJson: Buffer | undefined): IgnitionArea {
  const fail = (message: string): Error => new IgnitionAreaError(message);
  const info = igninfoJson === undefined ? { file: 'images/ignition.img' } : parseJson(igninfoJson, IGNINFO_PATH, fail);
  if (!isJsonObject(info)) throw fail(`${IGNINFO_PATH} is not a JSON object`);
  const path = typeof info.file === 'string' ? info.file.replace(/^\/+/, '') : '';
  if (path === '') throw fail(`${IGNINFO_PATH} has no "file" string`);
  const count = (key: string, minimum: number): number | undefined => {
    const value = info[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum) return value;
    throw fail(`${IGNINFO_PATH} "${key}" must be an integer ≥ ${minimum}, got ${JSON.stringify(value)}`);
  };
  const [offsetInFile = 0, length] = [count('offset', 0), count('length', 1)];
  const file = regularFile(index, path);
  if (file === undefined) throw fail(`Ignition area file '${path}' is not in the ISO`);
  if (offsetInFile > file.size)
    throw fail(`Ignition area offset ${offsetInFile} is past the end of '${path}' (${file.size} bytes)`);
  const areaLength = length ?? file.size - offsetInFile;
  if (areaLength === 0) throw fail(`Ignition area in '${path}' is empty`);
  const offset = absoluteOffset(file, offsetInFile, areaLength, (message) => fail(`Ignition area: ${message}`));
  return { file: path, offset, length: areaLength };
}

export function ignitionPatches(area: IgnitionArea, payload: Buffer): Overwrite[] {
  if (payload.length > area.length) throw new IgnitionTooLargeError(payload.length, area.length);
  return fillArea(area.offset, area.length, payload);
}

/** `size` is the ISO file's. Fails only when the Ignition area cannot be found: nothing works without it. */
export async function analyzeLiveIso(
  isoPath: string,
  size: number,
  index: IsoIndex,
  arch: CpuArchitecture,
): Promise<LiveIsoLayout> {
  const read = (file: IsoFile): Promise<Buffer> => readIsoFileBytes(isoPath, file);
  const readOptional = async (file: IsoFile | undefined): Promise<Buffer | undefined> => file && read(file);
  const ignitionArea = resolveIgnitionArea(index, await readOptional(regularFile(index, IGNINFO_PATH)));
  let kargsAreas: KargsArea[] = [];
  let kargsUnavailable: string | undefined = 's390x images cannot take extra kernel arguments';
  if (arch !== 's390x') {
    try {
      kargsAreas = await resolveKargsAreas(index, await readOptional(regularFile(index, KARGS_JSON_PATH)), read);
      kargsUnavailable = kargsAreas.length > 0 ? undefined : 'the image has no kernel-argument embed area';
    } catch (error) {
      // An image without usable areas still serves every request that adds no kernel arguments.
      kargsUnavailable = error instanceof Error ? error.message : String(error);
    }
  }
  const files: Record<string, IsoFile> = {};
  for (const [name, path] of Object.entries(BOOT_FILE_PATHS)) {
    const file = regularFile(index, path);
    if (file !== undefined) files[name === 's390xKernel' ? 'kernel' : name] ??= file;
  }
  return { isoPath, size, ignitionArea, kargsAreas, kargsUnavailable, files };
}

type IsoCustomization = { ignitionPayload: Buffer; kernelArguments: readonly string[]; ramdisk?: Buffer };

/** The patches of one customised ISO, sorted by offset; throws a typed error when something does not fit. */
export function customizationPatches(layout: LiveIsoLayout, customization: IsoCustomization): Overwrite[] {
  const { ignitionPayload, kernelArguments, ramdisk } = customization;
  const patches = ignitionPatches(layout.ignitionArea, ignitionPayload);
  patches.push(...kargsPatches(layout.kargsAreas, kernelArguments, layout.kargsUnavailable));
  if (ramdisk !== undefined) {
    const area = layout.files.ramdiskArea;
    if (area === undefined || area.extents.length !== 1)
      throw new RamdiskAreaError(`the image has no contiguous ramdisk area (${BOOT_FILE_PATHS.ramdiskArea})`);
    if (ramdisk.length > area.size) throw RamdiskAreaError.tooLarge(ramdisk.length, area.size);
    patches.push(...fillArea(area.offset, area.size, ramdisk));
  }
  return patches.sort((a, b) => a.offset - b.offset);
}

/** The ISO's load address, then the customised initrd's length, or the loader would cut off the Ignition payload. */
export function buildInitrdAddrsize(original: Buffer, initrdLength: number): Buffer {
  if (original.length < 8)
    throw new InitrdAddrsizeError(`initrd.addrsize from the ISO has ${original.length} bytes; at least 8 are needed`);
  if (!Number.isSafeInteger(initrdLength) || initrdLength < 0)
    throw new InitrdAddrsizeError(`initrd length must be a non-negative safe integer, got ${initrdLength}`);
  const result = Buffer.alloc(16);
  original.copy(result, 0, 0, 8);
  result.writeBigUInt64BE(BigInt(initrdLength), 8);
  return result;
}
