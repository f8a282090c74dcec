import { Injectable } from '@nestjs/common';
import type { Credential } from '../assisted/credentials.js';
import {
  CustomizationService,
  DoesNotFitError,
  type Customization,
  type CustomizationNeeds,
} from '../assisted/customization.service.js';
import { ServiceError } from '../common/service-error.js';
import { KargsNotSupportedError, RamdiskAreaError, customizationPatches } from '../iso/index.js';
import { IgnitionTooLargeError } from '../iso/index.js';
import { KargsTooLongError } from '../iso/index.js';
import type { LiveIsoLayout } from '../iso/index.js';
import { RAMDISK_AREA_SIZE } from '../iso/index.js';
import { VirtualFile } from '../iso/index.js';
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

/** The customised file for one (customisation, layout), or why the customisation does not fit that layout. */
type CustomizedFile = { readonly file: VirtualFile } | { readonly refusal: DoesNotFitError };

/** Bookkeeping of a memoised file: the object itself, its map slot, one frozen object per segment. */
const MEMO_OVERHEAD_BYTES = 256;
const SEGMENT_OVERHEAD_BYTES = 96;

/**
 * Turns an ISO request into the bytes to serve: finds the cached base (or minimal template), asks
 * assisted-service (through the customisation cache) for the infra-env's Ignition, kernel arguments and, for the
 * minimal ISO, its ramdisk, and overlays them on the base.
 */
@Injectable()
export class ImageDownloadService {
  constructor(
    private readonly readyImages: ReadyImages,
    private readonly layouts: ImageLayouts,
    private readonly templates: MinimalTemplates,
    private readonly customizations: CustomizationService,
  ) {}

  async prepare(request: ImageRequest, signal: AbortSignal): Promise<Downloadable> {
    const { image } = this.readyImages.find(request.version, request.arch, baseTypeOf(request.type), 404);
    const layout = this.layoutFor(image, request.type);
    const customization = await this.customizations.get(
      request.infraEnvId,
      request.type,
      request.credential,
      needsOf(layout, request.type),
      signal,
    );
    // A ramdisk is fetched for the minimal ISO only; without one (204) its area stays zero as in the template.
    const file = this.customizedFile(customization, layout);
    return {
      file,
      size: file.size,
      filename:
        request.type === 'disconnected-iso'
          ? `agent-ove.${image.entry.cpuArchitecture}.iso`
          : `${request.infraEnvId}-discovery.iso`,
      ...(customization.lastModified && { lastModified: customization.lastModified }),
    };
  }

  private layoutFor(image: CatalogImage, type: ImageType): LiveIsoLayout {
    const layout = type === 'minimal-iso' ? this.templates.get(image) : this.layouts.get(image);
    if (layout !== undefined) return layout;
    if (type === 'minimal-iso')
      throw new ServiceError(
        404,
        `no minimal ISO for ${image.entry.version} ${image.entry.cpuArchitecture}: ${this.templates.whyUnavailable(image)}`,
      );
    throw new ServiceError(503, `${image.fileName} is not ready`, { 'Retry-After': '30' });
  }

  /**
   * Built once per (customisation, layout) and kept with the cached customisation, counted in its byte bound, so
   * repeated Range requests neither validate patches again nor hold memory the bound does not see. A refusal is
   * kept the same way. A VirtualFile is immutable and opens its file per stream, so one serves every request.
   */
  private customizedFile(customization: Customization, layout: LiveIsoLayout): VirtualFile {
    const built = this.customizations.derive(
      customization,
      layout,
      () => buildFile(customization, layout),
      (outcome) => retainedBytes(outcome, customization),
    );
    if ('refusal' in built) throw built.refusal;
    return built.file;
  }
}

function needsOf(layout: LiveIsoLayout, type: ImageType): CustomizationNeeds {
  const ignitionAreaBytes = layout.ignitionArea.length;
  if (type !== 'minimal-iso') return { ignitionAreaBytes, kernelArguments: true };
  return {
    ignitionAreaBytes,
    ramdiskAreaBytes: layout.files.ramdiskArea?.size ?? RAMDISK_AREA_SIZE,
    kernelArguments: true,
  };
}

function buildFile(customization: Customization, layout: LiveIsoLayout): CustomizedFile {
  try {
    return {
      file: VirtualFile.overlay(
        { path: layout.isoPath, size: layout.size },
        customizationPatches(layout, customization),
      ),
    };
  } catch (error) {
    if (DOES_NOT_FIT.some((kind) => error instanceof kind))
      return { refusal: new DoesNotFitError((error as Error).message) };
    throw error;
  }
}

/** What a memoised file holds beyond the customisation's own buffers: its segments and the kernel-argument patches. */
function retainedBytes(outcome: CustomizedFile, customization: Customization): number {
  if ('refusal' in outcome) return MEMO_OVERHEAD_BYTES + 2 * outcome.refusal.message.length;
  const shared = new Set<Buffer>([
    customization.ignitionPayload,
    ...(customization.ramdisk ? [customization.ramdisk] : []),
  ]);
  return outcome.file.segments.reduce(
    (sum, segment) =>
      sum + SEGMENT_OVERHEAD_BYTES + (segment.kind === 'bytes' && !shared.has(segment.data) ? segment.data.length : 0),
    MEMO_OVERHEAD_BYTES,
  );
}
