import { Injectable } from '@nestjs/common';
import type { Credential } from '../assisted/credentials.js';
import { CustomizationService, type Customization } from '../assisted/customization.service.js';
import { ServiceError } from '../common/service-error.js';
import { KargsNotSupportedError, RamdiskAreaError, customizationPatches } from '../iso/customized-iso.js';
import { IgnitionTooLargeError } from '../iso/ignition-area.js';
import { KargsTooLongError } from '../iso/kargs.js';
import type { LiveIsoLayout } from '../iso/live-iso-layout.js';
import { VirtualFile, type Patch } from '../iso/virtual-file.js';
import { ImageLayouts } from '../versions/image-layouts.js';
import { MinimalTemplates } from '../versions/minimal-templates.js';
import type { CatalogImage } from '../versions/os-image-catalog.js';
import type { Downloadable } from './download-responder.js';
import { baseTypeOf, type ImageType } from './image-type.js';
import { ReadyImages } from './ready-images.js';

export interface ImageRequest {
  readonly infraEnvId: string;
  readonly type: ImageType;
  readonly version: string;
  readonly arch: string;
  readonly credential: Credential;
}

/** Errors of "the infra-env's content does not fit this image": the request cannot succeed as it is. */
const DOES_NOT_FIT = [IgnitionTooLargeError, KargsTooLongError, KargsNotSupportedError, RamdiskAreaError];

/**
 * Turns an ISO request into the bytes to serve: finds the cached base (or minimal template), asks
 * assisted-service (through the customisation cache) for the infra-env's Ignition, kernel arguments and, for the
 * minimal ISO, its ramdisk, and overlays them on the base.
 */
@Injectable()
export class ImageDownloadService {
  /** Files built from one cached customisation, so repeated Range requests neither gzip nor validate patches again. */
  private readonly fileMemo = new WeakMap<Customization, Map<LiveIsoLayout, VirtualFile>>();

  constructor(
    private readonly readyImages: ReadyImages,
    private readonly layouts: ImageLayouts,
    private readonly templates: MinimalTemplates,
    private readonly customizations: CustomizationService,
  ) {}

  async prepare(request: ImageRequest, signal: AbortSignal): Promise<Downloadable> {
    const { image } = this.readyImages.find(request.version, request.arch, baseTypeOf(request.type), 404);
    const layout = this.layoutFor(image, request.type);
    const minimal = request.type === 'minimal-iso';
    const customization = await this.customizations.get(request.infraEnvId, request.type, request.credential, { ramdisk: minimal, kernelArguments: true }, signal);
    // A ramdisk is fetched for the minimal ISO only; without one (204) its area stays zero as in the template.
    const file = this.customizedFile(customization, layout);
    return {
      file,
      size: file.size,
      filename: request.type === 'disconnected-iso' ? `agent-ove.${image.entry.cpuArchitecture}.iso` : `${request.infraEnvId}-discovery.iso`,
      ...(customization.lastModified && { lastModified: customization.lastModified }),
    };
  }

  private layoutFor(image: CatalogImage, type: ImageType): LiveIsoLayout {
    const layout = type === 'minimal-iso' ? this.templates.get(image) : this.layouts.get(image);
    if (layout !== undefined) return layout;
    if (type === 'minimal-iso') throw new ServiceError(404, `no minimal ISO for ${image.entry.version} ${image.entry.cpuArchitecture}: ${this.templates.whyUnavailable(image)}`);
    throw new ServiceError(503, `${image.fileName} is not ready`, { 'Retry-After': '30' });
  }

  /**
   * Keyed by the cached customisation object itself: a new fetch is a new object, so the memo never goes stale. A
   * VirtualFile is immutable and opens its file per stream, so one serves every request.
   */
  private customizedFile(customization: Customization, layout: LiveIsoLayout): VirtualFile {
    const memo = this.fileMemo.get(customization) ?? new Map<LiveIsoLayout, VirtualFile>();
    this.fileMemo.set(customization, memo);
    const known = memo.get(layout);
    if (known !== undefined) return known;
    const file = VirtualFile.overlay({ path: layout.isoPath, size: layout.size }, this.patches(customization, layout));
    memo.set(layout, file);
    return file;
  }

  private patches(customization: Customization, layout: LiveIsoLayout): Patch[] {
    try {
      return customizationPatches(layout, customization);
    } catch (error) {
      if (DOES_NOT_FIT.some((kind) => error instanceof kind)) throw new ServiceError(400, (error as Error).message);
      throw error;
    }
  }
}
