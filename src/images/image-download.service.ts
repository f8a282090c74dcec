import { Injectable } from '@nestjs/common';
import type { Credential } from '../assisted/credentials.js';
import { CustomizationService, type Customization } from '../assisted/customization.service.js';
import { ServiceError } from '../common/service-error.js';
import { customizationPatches } from '../iso/customized-iso.js';
import { IgnitionTooLargeError } from '../iso/ignition-area.js';
import { KargsTooLongError } from '../iso/kargs.js';
import type { LiveIsoLayout } from '../iso/live-iso-layout.js';
import { VirtualFile, type Patch } from '../iso/virtual-file.js';
import { ImageCacheService } from '../versions/image-cache.service.js';
import { ImageLayouts } from '../versions/image-layouts.js';
import type { CatalogImage } from '../versions/os-image-catalog.js';
import { KargsNotSupportedError, RamdiskAreaError } from '../iso/customized-iso.js';
import type { DownloadResource } from './download-response.js';
import { baseTypeOf, type ImageType } from './image-type.js';

export interface ImageRequest {
  readonly infraEnvId: string;
  readonly type: ImageType;
  readonly version: string;
  readonly arch: string;
  readonly credential: Credential;
}

export interface PreparedDownload extends DownloadResource {
  readonly file: VirtualFile;
}

/** Errors of "the infra-env's content does not fit this image": the request cannot succeed as it is. */
const DOES_NOT_FIT = [IgnitionTooLargeError, KargsTooLongError, KargsNotSupportedError, RamdiskAreaError];

/**
 * Turns an image request into the bytes to serve: finds the cached base, asks assisted-service (through the
 * customisation cache) for the infra-env's Ignition and kernel arguments, and overlays them on the base.
 */
@Injectable()
export class ImageDownloadService {
  /** Patches derived from one cached customisation, so repeated Range requests do not gzip again. */
  private readonly patchMemo = new WeakMap<Customization, Map<LiveIsoLayout, Patch[]>>();

  constructor(
    private readonly cache: ImageCacheService,
    private readonly layouts: ImageLayouts,
    private readonly customizations: CustomizationService,
  ) {}

  async prepare(request: ImageRequest, signal: AbortSignal): Promise<PreparedDownload> {
    const image = this.readyImage(request);
    if (request.type === 'minimal-iso') throw new ServiceError(501, 'minimal-iso downloads are not available yet: minimal ISO templates are not built');
    const layout = this.layouts.get(image);
    if (layout === undefined) throw new ServiceError(503, `${image.fileName} is not ready`, { 'Retry-After': '30' });
    const customization = await this.customizations.get(
      request.infraEnvId,
      request.type,
      request.credential,
      { ramdisk: false, kernelArguments: true },
      signal,
    );
    const file = VirtualFile.overlay({ path: layout.isoPath, size: layout.size }, this.patches(customization, layout));
    return {
      file,
      size: file.size,
      filename: request.type === 'disconnected-iso' ? `agent-ove.${image.entry.cpuArchitecture}.iso` : `${request.infraEnvId}-discovery.iso`,
      ...(customization.lastModified && { lastModified: customization.lastModified }),
    };
  }

  /** 503 until every image is ready (reference §4), then 404 for a version or arch the catalog does not have. */
  private readyImage(request: ImageRequest): CatalogImage {
    if (!this.cache.isReady()) {
      const states = this.cache.snapshot();
      const ready = states.filter(({ state }) => state.status === 'ready').length;
      throw new ServiceError(503, `the image cache is not ready yet (${ready} of ${states.length} images ready)`, { 'Retry-After': '30' });
    }
    const image = this.cache.catalog.find(request.version, request.arch, baseTypeOf(request.type));
    if (image === undefined) {
      throw new ServiceError(404, `no ${baseTypeOf(request.type)} image for version "${request.version}" and architecture "${request.arch}"`);
    }
    return image;
  }

  private patches(customization: Customization, layout: LiveIsoLayout): Patch[] {
    const memo = this.patchMemo.get(customization) ?? new Map<LiveIsoLayout, Patch[]>();
    this.patchMemo.set(customization, memo);
    const known = memo.get(layout);
    if (known !== undefined) return known;
    try {
      const patches = customizationPatches(layout, customization);
      memo.set(layout, patches);
      return patches;
    } catch (error) {
      if (DOES_NOT_FIT.some((kind) => error instanceof kind)) throw new ServiceError(400, (error as Error).message);
      throw error;
    }
  }
}
