import { Injectable } from '@nestjs/common';
import type { Credential } from '../assisted/credentials.js';
import { CustomizationService, type CustomizationNeeds } from '../assisted/customization.service.js';
import { ServiceError } from '../common/service-error.js';
import { STANDARD_IGNITION_AREA_BYTES } from '../iso/index.js';
import { readIsoFileBytes } from '../iso/index.js';
import type { IsoFile } from '../iso/index.js';
import { RAMDISK_AREA_SIZE } from '../iso/index.js';
import { buildInitrdAddrsize } from '../iso/index.js';
import { VirtualFile, type Segment } from '../iso/index.js';
import { ImageLayouts } from '../versions/image-layouts.js';
import { NmstateImages, needsNmstate } from '../versions/nmstate-images.js';
import type { CatalogImage } from '../versions/os-image-catalog.js';
import type { VerifiedImage } from '../versions/image-preparation.js';
import type { Downloadable } from './download-responder.js';
import { ReadyImages } from './ready-images.js';

export interface PxeRequest {
  readonly infraEnvId: string;
  readonly version: string;
  readonly arch: string;
  readonly credential: Credential;
}

/**
 * The PXE initrd has no areas, but it takes the Ignition and the ramdisk the ISOs take: it is held to their
 * standard areas (the live ISO's 256 KiB Ignition area, the minimal ISO's 1 MiB ramdisk area), so what assisted-
 * service sends is bounded the same way. No kernel arguments: an initrd has nowhere to carry them.
 */
const PXE_NEEDS: CustomizationNeeds = {
  ignitionAreaBytes: STANDARD_IGNITION_AREA_BYTES,
  ramdiskAreaBytes: RAMDISK_AREA_SIZE,
  kernelArguments: false,
};

/**
 * The PXE initrd of reference §6 — the ISO's initrd.img, then the Ignition payload, then the assisted ramdisk when
 * there is one, then nmstate.img when a ramdisk was added to an image that carries it — and the s390x addrsize
 * file that announces its length. Both are concatenations streamed from the cached files.
 */
@Injectable()
export class PxeDownloadService {
  constructor(
    private readonly readyImages: ReadyImages,
    private readonly layouts: ImageLayouts,
    private readonly nmstate: NmstateImages,
    private readonly customizations: CustomizationService,
  ) {}

  async preparePxeInitrd(request: PxeRequest, signal: AbortSignal): Promise<Downloadable> {
    const { file, lastModified } = await this.initrd(request, signal);
    return {
      file,
      size: file.size,
      filename: `${request.infraEnvId}-initrd.img`,
      ...(lastModified && { lastModified }),
    };
  }

  async prepareAddrsize(request: PxeRequest, signal: AbortSignal): Promise<Downloadable> {
    const { file: initrd, lastModified, base, image } = await this.initrd({ ...request, arch: 's390x' }, signal);
    const addrsizeFile = this.layouts.get(image)?.files.initrdAddrsize;
    if (addrsizeFile === undefined)
      throw new ServiceError(404, `the ${image.entry.version} s390x image has no images/initrd.addrsize`);
    const original = await readIsoFileBytes(base.path, addrsizeFile, 4096);
    const file = VirtualFile.concat([{ kind: 'bytes', data: buildInitrdAddrsize(original, initrd.size) }]);
    return {
      file,
      size: file.size,
      filename: `${request.infraEnvId}-initrd.addrsize`,
      ...(lastModified && { lastModified }),
    };
  }

  private async initrd(
    request: PxeRequest,
    signal: AbortSignal,
  ): Promise<{ file: VirtualFile; lastModified?: Date; base: VerifiedImage; image: CatalogImage }> {
    const { image, base } = this.readyImages.find(request.version, request.arch, 'full-iso', 400);
    const initrd = this.layouts.get(image)?.files.initrd;
    if (initrd === undefined)
      throw new ServiceError(
        404,
        `the ${image.entry.version} ${image.entry.cpuArchitecture} image has no images/pxeboot/initrd.img`,
      );
    const customization = await this.customizations.get(
      request.infraEnvId,
      'pxe-initrd',
      request.credential,
      PXE_NEEDS,
      signal,
    );
    const segments: Segment[] = [
      ...isoFileSegments(base.path, initrd),
      { kind: 'bytes', data: customization.ignitionPayload },
    ];
    if (customization.ramdisk !== undefined) {
      segments.push({ kind: 'bytes', data: customization.ramdisk });
      const nmstate = needsNmstate(image) ? this.nmstate.get(image) : undefined;
      if (nmstate !== undefined) segments.push({ kind: 'file', path: nmstate.path, offset: 0, length: nmstate.size });
    }
    return {
      file: VirtualFile.concat(segments),
      base,
      image,
      ...(customization.lastModified && { lastModified: customization.lastModified }),
    };
  }
}

/** A file inside the ISO as segments of the ISO file, one per extent. */
export function isoFileSegments(isoPath: string, file: IsoFile): Segment[] {
  return file.extents.map((extent) => ({ kind: 'file', path: isoPath, offset: extent.offset, length: extent.size }));
}
