/**
 * A customised live ISO: the cached base with the Ignition payload, the extra kernel arguments and (minimal ISO)
 * the assisted ramdisk written over their reserved areas. Only the kernel-argument areas are built as buffers;
 * the payload and the ramdisk are used as they are, and the rest of their areas is a zero-fill.
 */
import { ignitionPatches } from './ignition-area.js';
import { kargsPatches } from './kargs.js';
import type { LiveIsoLayout } from './live-iso-layout.js';
import { fillArea, type Overwrite } from './virtual-file.js';

/** Extra kernel arguments were asked for an image that has nowhere to put them. */
export class KargsNotSupportedError extends Error {
  override readonly name = 'KargsNotSupportedError';
}

/** The ramdisk does not fit the minimal ISO's ramdisk area, or the image has none. */
export class RamdiskAreaError extends Error {
  override readonly name = 'RamdiskAreaError';

  /** `size` is undefined when reading stopped as soon as the ramdisk passed the area, so only "more than" is known. */
  static tooLarge(size: number | undefined, areaSize: number): RamdiskAreaError {
    const what = size === undefined ? `more than ${areaSize}` : String(size);
    return new RamdiskAreaError(
      `the static network ramdisk is ${what} bytes, larger than the ${areaSize}-byte ramdisk area`,
    );
  }
}

export interface IsoCustomization {
  /** The Ignition payload (see ignition-payload.ts), written at the start of the Ignition area. */
  readonly ignitionPayload: Buffer;
  readonly kernelArguments: readonly string[];
  /** Minimal ISO only: the assisted ramdisk (compressed cpio), written at the start of the ramdisk area. */
  readonly ramdisk?: Buffer;
}

/** The patches for one customisation, sorted by offset; throws a typed error when something does not fit. */
export function customizationPatches(layout: LiveIsoLayout, customization: IsoCustomization): Overwrite[] {
  const patches = ignitionPatches(layout.ignitionArea, customization.ignitionPayload);
  if (customization.kernelArguments.length > 0) {
    if (layout.kargsAreas.length === 0) {
      throw new KargsNotSupportedError(
        `cannot add kernel arguments: ${layout.kargsUnavailable ?? 'the image has no kernel-argument area'}`,
      );
    }
    patches.push(...kargsPatches([...layout.kargsAreas], [...customization.kernelArguments]));
  }
  if (customization.ramdisk !== undefined) patches.push(...ramdiskPatches(layout, customization.ramdisk));
  return patches.sort((a, b) => a.offset - b.offset);
}

/** The ramdisk followed by zeros over the whole area, so nothing of an earlier layout shows through. */
function ramdiskPatches(layout: LiveIsoLayout, ramdisk: Buffer): Overwrite[] {
  const area = layout.files.ramdiskArea;
  if (area === undefined || area.extents.length !== 1) {
    throw new RamdiskAreaError('the image has no contiguous ramdisk area (images/assisted_installer_custom.img)');
  }
  if (ramdisk.length > area.size) throw RamdiskAreaError.tooLarge(ramdisk.length, area.size);
  return fillArea(area.offset, area.size, ramdisk);
}
