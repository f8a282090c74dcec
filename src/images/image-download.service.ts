import { Inject, Injectable } from '@nestjs/common';
import { DoesNotFitError } from '../assisted/assisted.errors.js';
import type { Credential } from '../assisted/credentials.js';
import { CustomizationService, type Customization } from '../assisted/customization.service.js';
import { Clock } from '../common/clock.js';
import type { Download } from '../delivery/response-plan.js';
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
import { ImageLayouts, MinimalTemplates, NmstateImages, type VerifiedImage } from '../versions/preparation-steps.js';

export interface ImageRequest {
  readonly infraEnvId: string;
  readonly version: string;
  readonly arch: string;
  readonly credential: Credential;
}

export const BOOT_ARTIFACTS = ['rootfs', 'kernel', 'ins-file'] as const;
export type BootArtifact = (typeof BOOT_ARTIFACTS)[number];
const ARTIFACT_FILES = { rootfs: 'rootfs', kernel: 'kernel', 'ins-file': 'insFile' } as const;

/** What the ISOs take, held to their standard areas; no kernel arguments: an initrd has nowhere to carry them. */
const PXE_NEEDS = {
  ignitionAreaBytes: STANDARD_IGNITION_AREA_BYTES,
  ramdiskAreaBytes: RAMDISK_AREA_SIZE,
  kernelArguments: false,
};

/** Errors of "the infra-env's content does not fit this image": the request cannot succeed as it is. */
const DOES_NOT_FIT = [IgnitionTooLargeError, KargsTooLongError, KargsNotSupportedError, RamdiskAreaError];

/** Bookkeeping of a memoised file (the object, its map slot) and of each of its segments. */
const MEMO_OVERHEAD_BYTES = 256;
const SEGMENT_OVERHEAD_BYTES = 96;

/** The customised file for one (customisation, layout), or why the customisation does not fit that layout. */
type CustomizedFile = { readonly file: VirtualFile } | { readonly refusal: DoesNotFitError };

/** A download request as bytes: the ready image and the customisation, overlaid or concatenated (docs/live-iso.md). */
@Injectable()
export class ImageDownloadService {
  private readonly files = new FileMemo();

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
    const baseType = type === 'disconnected-iso' ? type : 'full-iso';
    const { image, base } = this.ready(request.version, request.arch, baseType, 404);
    const { version, cpuArchitecture } = image.entry;
    const layout = type === 'minimal-iso' ? this.templates.get(image) : this.layouts.get(image);
    if (layout === undefined && type === 'minimal-iso') {
      const why = this.templates.whyUnavailable(image);
      throw new ServiceError(404, `no minimal ISO for ${version} ${cpuArchitecture}: ${why}`);
    }
    if (layout === undefined) throw new ServiceError(503, `${image.fileName} is not ready`, { 'Retry-After': '30' });
    const ignitionAreaBytes = layout.ignitionArea.length;
    // Without a ramdisk (204) the minimal ISO's ramdisk area stays zeros, as in the template.
    const ramdiskAreaBytes = layout.files.ramdiskArea?.size ?? RAMDISK_AREA_SIZE;
    const needs = { ignitionAreaBytes, ...(type === 'minimal-iso' && { ramdiskAreaBytes }), kernelArguments: true };
    const { infraEnvId, credential } = request;
    const customization = await this.customizations.get(infraEnvId, type, credential, needs, signal);
    const filename = type === 'disconnected-iso' ? `agent-ove.${cpuArchitecture}.iso` : `${infraEnvId}-discovery.iso`;
    // Built once per (customisation, layout) and kept with the cached customisation: Range requests neither validate
    // patches again nor hold memory its bound does not see. A VirtualFile is immutable, so one serves every request.
    const built = this.customizations.derive(customization, layout, buildFile, retainedBytes);
    if ('refusal' in built) throw built.refusal;
    return download(built.file, filename, customization.lastModified, this.currentWhile(base, customization));
  }

  /** The ISO's initrd.img, the Ignition payload, then, when there is a ramdisk, the ramdisk and nmstate.img. */
  async pxeInitrd(request: ImageRequest, signal: AbortSignal): Promise<Download> {
    const { file, customization, base } = await this.initrd(request, signal);
    const stillCurrent = this.currentWhile(base, customization);
    return download(file, `${request.infraEnvId}-initrd.img`, customization.lastModified, stillCurrent);
  }

  /** The s390x initrd.addrsize that announces the customised PXE initrd's length; `request.arch` is ignored. */
  async addrsize(request: ImageRequest, signal: AbortSignal): Promise<Download> {
    const { file: initrd, customization, image, base } = await this.initrd({ ...request, arch: 's390x' }, signal);
    const source = this.layouts.get(image)?.files.initrdAddrsize;
    if (source === undefined)
      throw new ServiceError(404, `the ${image.entry.version} s390x image has no images/initrd.addrsize`);
    const addrsize = buildInitrdAddrsize(await readIsoFileBytes(base.path, source, 4096), initrd.size);
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
    const file = this.files.get(base, artifact, () => VirtualFile.concat(isoFileSegments(base.path, source)));
    const name = source.path.split('/').at(-1) ?? artifact;
    return download(file, name, base.mtime, this.currentWhile(base));
  }

  /** The catalog image once ready: `unknown` is the route's status for none; 503 says its state and when to retry. */
  private ready(version: string, arch: string, type: BaseImageType, unknown: 400 | 404) {
    const image = this.cache.catalog.find(version, arch, type);
    if (image === undefined)
      throw new ServiceError(unknown, `no ${type} image for version "${version}" and architecture "${arch}"`);
    const base = this.cache.readyImage(image);
    if (base !== undefined) return { image, base };
    const state = this.cache.stateOf(image);
    const now = this.clock.now();
    const reason = notReadyReason(state, this.cache.lastFailure(image), now);
    const retryAfter = String(retryAfterSeconds(state, now));
    throw new ServiceError(503, `${image.fileName} is not ready: ${reason}`, { 'Retry-After': retryAfter });
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
    const file = this.files.get(customization, base, () => {
      const payload: Segment = { kind: 'bytes', data: customization.ignitionPayload };
      const segments = [...isoFileSegments(base.path, initrd), payload];
      if (customization.ramdisk !== undefined) {
        segments.push({ kind: 'bytes', data: customization.ramdisk });
        const nmstate = this.nmstate.get(image);
        if (nmstate !== undefined) segments.push({ kind: 'file', path: nmstate.path, offset: 0, length: nmstate.size });
      }
      return VirtualFile.concat(segments);
    });
    return { file, customization, image, base };
  }

  /**
   * For the fast lane: the same request gets the same download while the image stays the one that is ready and the
   * customisation stays cached. Nothing held strongly: the cache alone decides how long a customisation lives.
   */
  private currentWhile(base: VerifiedImage, customization?: Customization): () => boolean {
    const held = customization && new WeakRef(customization);
    return () => {
      if (this.cache.readyImage(base.image) !== base) return false;
      const current = held?.deref();
      return held === undefined || (current !== undefined && this.customizations.isCurrent(current));
    };
  }
}

/** Files built once per pair of keys, kept as long as the first key lives (a customisation, a ready image). */
class FileMemo {
  private readonly files = new WeakMap<object, Map<unknown, VirtualFile>>();

  get(owner: object, key: unknown, build: () => VirtualFile): VirtualFile {
    let byKey = this.files.get(owner);
    if (byKey === undefined) this.files.set(owner, (byKey = new Map()));
    let file = byKey.get(key);
    if (file === undefined) byKey.set(key, (file = build()));
    return file;
  }
}

function download(file: VirtualFile, filename: string, lastModified?: Date, stillCurrent?: () => boolean): Download {
  return { file, filename, ...(lastModified && { lastModified }), stillCurrent };
}

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
  let bytes = MEMO_OVERHEAD_BYTES;
  for (const segment of outcome.file.segments)
    bytes += SEGMENT_OVERHEAD_BYTES + (segment.kind === 'bytes' && !shared.has(segment.data) ? segment.data.length : 0);
  return bytes;
}
