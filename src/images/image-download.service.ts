import { Inject, Injectable } from '@nestjs/common';
import { DoesNotFitError } from '../assisted/assisted.errors.js';
import type { Credential } from '../assisted/credentials.js';
import {
  CustomizationService,
  type Customization,
  type CustomizationNeeds,
} from '../assisted/customization.service.js';
import { Clock } from '../common/clock.js';
import { ServiceError } from '../common/service-error.js';
import type { BaseImageType, ImageType } from '../config/catalog.js';
import {
  IgnitionTooLargeError,
  KargsNotSupportedError,
  KargsTooLongError,
  RAMDISK_AREA_SIZE,
  RamdiskAreaError,
  STANDARD_IGNITION_AREA_BYTES,
  VirtualFile,
  buildInitrdAddrsize,
  customizationPatches,
  readIsoFileBytes,
  type IsoFile,
  type LiveIsoLayout,
  type Segment,
} from '../iso/index.js';
import { ImageCacheService } from '../versions/image-cache.service.js';
import { notReadyReason, retryAfterSeconds } from '../versions/image-state.js';
import { ImageLayouts, MinimalTemplates, NmstateImages, needsNmstate } from '../versions/preparation-steps.js';
import type { Download } from './download-responder.js';

export interface ImageRequest {
  readonly infraEnvId: string;
  readonly version: string;
  readonly arch: string;
  readonly credential: Credential;
}

export const BOOT_ARTIFACTS = ['rootfs', 'kernel', 'ins-file'] as const;
export type BootArtifact = (typeof BOOT_ARTIFACTS)[number];
const ARTIFACT_FILES = { rootfs: 'rootfs', kernel: 'kernel', 'ins-file': 'insFile' } as const;

/**
 * The PXE initrd takes what the ISOs take, held to their standard areas (the live ISO's Ignition area, the minimal
 * ISO's ramdisk area), and no kernel arguments: an initrd has nowhere to carry them.
 */
const PXE_NEEDS: CustomizationNeeds = {
  ignitionAreaBytes: STANDARD_IGNITION_AREA_BYTES,
  ramdiskAreaBytes: RAMDISK_AREA_SIZE,
  kernelArguments: false,
};

/** Errors of "the infra-env's content does not fit this image": the request cannot succeed as it is. */
const DOES_NOT_FIT = [IgnitionTooLargeError, KargsTooLongError, KargsNotSupportedError, RamdiskAreaError];

/** Bookkeeping of a memoised file: the object itself, its map slot, one frozen object per segment. */
const MEMO_OVERHEAD_BYTES = 256;
const SEGMENT_OVERHEAD_BYTES = 96;

/** The customised file for one (customisation, layout), or why the customisation does not fit that layout. */
type CustomizedFile = { readonly file: VirtualFile } | { readonly refusal: DoesNotFitError };

/**
 * Turns a download request into the bytes to serve: the ready cached image, the infra-env's customisation from
 * assisted-service (through its cache) and the file that overlays or concatenates them (docs/live-iso.md says what
 * goes where).
 */
@Injectable()
export class ImageDownloadService {
  constructor(
    @Inject(ImageCacheService) private readonly cache: ImageCacheService,
    @Inject(ImageLayouts) private readonly layouts: ImageLayouts,
    @Inject(MinimalTemplates) private readonly templates: MinimalTemplates,
    @Inject(NmstateImages) private readonly nmstate: NmstateImages,
    @Inject(CustomizationService) private readonly customizations: CustomizationService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** The base ISO, or the minimal template, with the infra-env's Ignition, kernel arguments and ramdisk written in. */
  async iso(type: ImageType, request: ImageRequest, signal: AbortSignal): Promise<Download> {
    const { image } = this.ready(request.version, request.arch, type === 'disconnected-iso' ? type : 'full-iso', 404);
    const { version, cpuArchitecture } = image.entry;
    const layout = type === 'minimal-iso' ? this.templates.get(image) : this.layouts.get(image);
    if (layout === undefined && type === 'minimal-iso')
      throw new ServiceError(
        404,
        `no minimal ISO for ${version} ${cpuArchitecture}: ${this.templates.whyUnavailable(image)}`,
      );
    if (layout === undefined) throw new ServiceError(503, `${image.fileName} is not ready`, { 'Retry-After': '30' });
    const ignitionAreaBytes = layout.ignitionArea.length;
    // Without a ramdisk (204) the minimal ISO's ramdisk area stays zeros, as in the template.
    const ramdiskAreaBytes = type === 'minimal-iso' ? (layout.files.ramdiskArea?.size ?? RAMDISK_AREA_SIZE) : undefined;
    const needs =
      ramdiskAreaBytes === undefined
        ? { ignitionAreaBytes, kernelArguments: true }
        : { ignitionAreaBytes, ramdiskAreaBytes, kernelArguments: true };
    const { infraEnvId, credential } = request;
    const customization = await this.customizations.get(infraEnvId, type, credential, needs, signal);
    const filename = type === 'disconnected-iso' ? `agent-ove.${cpuArchitecture}.iso` : `${infraEnvId}-discovery.iso`;
    return download(this.customizedFile(customization, layout), filename, customization.lastModified);
  }

  /** The ISO's initrd.img, the Ignition payload, then, when there is a ramdisk, the ramdisk and nmstate.img. */
  async pxeInitrd(request: ImageRequest, signal: AbortSignal): Promise<Download> {
    const { file, customization } = await this.initrd(request, signal);
    return download(file, `${request.infraEnvId}-initrd.img`, customization.lastModified);
  }

  /** The s390x initrd.addrsize that announces the customised PXE initrd's length; `request.arch` is ignored. */
  async addrsize(request: ImageRequest, signal: AbortSignal): Promise<Download> {
    const { file: initrd, customization, image, isoPath } = await this.initrd({ ...request, arch: 's390x' }, signal);
    const source = this.layouts.get(image)?.files.initrdAddrsize;
    if (source === undefined)
      throw new ServiceError(404, `the ${image.entry.version} s390x image has no images/initrd.addrsize`);
    const addrsize = buildInitrdAddrsize(await readIsoFileBytes(isoPath, source, 4096), initrd.size);
    const file = VirtualFile.concat([{ kind: 'bytes', data: addrsize }]);
    return download(file, `${request.infraEnvId}-initrd.addrsize`, customization.lastModified);
  }

  /** A file of the cached ISO as it is: no assisted-service call, the ISO's mtime. */
  bootArtifact(artifact: BootArtifact, version: string, arch: string): Download {
    const { image, base } = this.ready(version, arch, 'full-iso', 400);
    if (artifact === 'ins-file' && image.entry.cpuArchitecture !== 's390x')
      throw new ServiceError(404, 'ins-file exists for s390x images only');
    const source = this.layouts.get(image)?.files[ARTIFACT_FILES[artifact]];
    if (source === undefined)
      throw new ServiceError(404, `the ${image.entry.version} ${image.entry.cpuArchitecture} image has no ${artifact}`);
    const file = VirtualFile.concat(isoFileSegments(base.path, source));
    return download(file, source.path.split('/').at(-1) ?? artifact, base.mtime);
  }

  /**
   * The gate every route passes: the catalog image once it is ready, whatever state the others are in. An unknown one
   * gets the status the route documents; one not ready yet a 503 with its state and when to ask again.
   */
  private ready(version: string, arch: string, type: BaseImageType, unknown: 400 | 404) {
    const image = this.cache.catalog.find(version, arch, type);
    if (image === undefined)
      throw new ServiceError(unknown, `no ${type} image for version "${version}" and architecture "${arch}"`);
    const base = this.cache.readyImage(image);
    if (base !== undefined) return { image, base };
    const state = this.cache.stateOf(image);
    const now = this.clock.now();
    const reason = notReadyReason(state, this.cache.lastFailure(image), now);
    throw new ServiceError(503, `${image.fileName} is not ready: ${reason}`, {
      'Retry-After': String(retryAfterSeconds(state, now)),
    });
  }

  private async initrd(request: ImageRequest, signal: AbortSignal) {
    const { image, base } = this.ready(request.version, request.arch, 'full-iso', 400);
    const initrd = this.layouts.get(image)?.files.initrd;
    if (initrd === undefined) {
      const { version, cpuArchitecture } = image.entry;
      throw new ServiceError(404, `the ${version} ${cpuArchitecture} image has no images/pxeboot/initrd.img`);
    }
    const { infraEnvId, credential } = request;
    const customization = await this.customizations.get(infraEnvId, 'pxe-initrd', credential, PXE_NEEDS, signal);
    const payload: Segment = { kind: 'bytes', data: customization.ignitionPayload };
    const segments = [...isoFileSegments(base.path, initrd), payload];
    if (customization.ramdisk !== undefined) {
      segments.push({ kind: 'bytes', data: customization.ramdisk });
      const nmstate = needsNmstate(image) ? this.nmstate.get(image) : undefined;
      if (nmstate !== undefined) segments.push({ kind: 'file', path: nmstate.path, offset: 0, length: nmstate.size });
    }
    return { file: VirtualFile.concat(segments), customization, image, isoPath: base.path };
  }

  /**
   * Built once per (customisation, layout) and kept with the cached customisation, counted in its byte bound: repeated
   * Range requests neither validate patches again nor hold memory the bound does not see. A refusal is kept the same
   * way. A VirtualFile is immutable and opens its file per stream, so one serves every request.
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

function download(file: VirtualFile, filename: string, lastModified: Date | undefined): Download {
  return { file, size: file.size, filename, ...(lastModified && { lastModified }) };
}

/** A file inside the ISO as segments of the ISO file, one per extent. */
function isoFileSegments(isoPath: string, file: IsoFile): Segment[] {
  return file.extents.map((extent) => ({ kind: 'file', path: isoPath, offset: extent.offset, length: extent.size }));
}

function buildFile(customization: Customization, layout: LiveIsoLayout): CustomizedFile {
  try {
    const base = { path: layout.isoPath, size: layout.size };
    return { file: VirtualFile.overlay(base, customizationPatches(layout, customization)) };
  } catch (error) {
    if (!DOES_NOT_FIT.some((kind) => error instanceof kind)) throw error;
    return { refusal: new DoesNotFitError((error as Error).message) };
  }
}

/** What a memoised file holds beyond the customisation's own buffers: its segments and kernel-argument patches. */
function retainedBytes(outcome: CustomizedFile, customization: Customization): number {
  if ('refusal' in outcome) return MEMO_OVERHEAD_BYTES + 2 * outcome.refusal.message.length;
  const shared = new Set([customization.ignitionPayload, customization.ramdisk]);
  return outcome.file.segments.reduce(
    (sum, segment) =>
      sum + SEGMENT_OVERHEAD_BYTES + (segment.kind === 'bytes' && !shared.has(segment.data) ? segment.data.length : 0),
    MEMO_OVERHEAD_BYTES,
  );
}
