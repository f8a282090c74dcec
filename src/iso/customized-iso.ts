/**
 * A customised live ISO: the cached base with the Ignition payload, the extra kernel arguments and (minimal ISO)
 * the assisted ramdisk written over their reserved areas. Only the patch bytes are built per request.
 */
import { ignitionPatch } from './ignition-area.js';
import { buildIgnitionPayload } from './ignition-payload.js';
import { kargsPatches } from './kargs.js';
import type { LiveIsoLayout } from './live-iso-layout.js';
import type { Patch } from './virtual-file.js';

/** Extra kernel arguments were asked for an image that has nowhere to put them. */
export class KargsNotSupportedError extends Error {
  override readonly name = 'KargsNotSupportedError';
}

/** The ramdisk does not fit the minimal ISO's ramdisk area, or the image has none. */
export class RamdiskAreaError extends Error {
  override readonly name = 'RamdiskAreaError';
}

export interface IsoCustomization {
  readonly ignition: Buffer;
  readonly kernelArguments: readonly string[];
  /** Minimal ISO only: the assisted ramdisk (compressed cpio), written at the start of the ramdisk area. */
  readonly ramdisk?: Buffer;
}

/** The patches for one customisation, sorted by offset; throws a typed error when something does not fit. */
export function customizationPatches(layout: LiveIsoLayout, customization: IsoCustomization): Patch[] {
  const patches = [ignitionPatch(layout.ignitionArea, buildIgnitionPayload(customization.ignition))];
  if (customization.kernelArguments.length > 0) {
    if (layout.kargsAreas.length === 0) {
      throw new KargsNotSupportedError(`cannot add kernel arguments: ${layout.kargsUnavailable ?? 'the image has no kernel-argument area'}`);
    }
    patches.push(...kargsPatches([...layout.kargsAreas], [...customization.kernelArguments]));
  }
  if (customization.ramdisk !== undefined) patches.push(ramdiskPatch(layout, customization.ramdisk));
  return patches.sort((a, b) => a.offset - b.offset);
}

/** The ramdisk followed by zeros over the whole area, so nothing of an earlier layout shows through. */
function ramdiskPatch(layout: LiveIsoLayout, ramdisk: Buffer): Patch {
  const area = layout.files.ramdiskArea;
  if (area === undefined || area.extents.length !== 1) {
    throw new RamdiskAreaError('the image has no contiguous ramdisk area (images/assisted_installer_custom.img)');
  }
  if (ramdisk.length > area.size) {
    throw new RamdiskAreaError(`the static network ramdisk is ${ramdisk.length} bytes, larger than the ${area.size}-byte ramdisk area`);
  }
  const data = Buffer.alloc(area.size);
  ramdisk.copy(data);
  return { offset: area.offset, data };
}
