import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { ServerConfig, StorageConfig } from '../config/app-config.js';
import {
  analyzeLiveIso,
  buildMinimalTemplate,
  buildNmstateRamdisk,
  extractNmstatectl,
  readIsoIndex,
  runChild,
  type IsoIndex,
  type LiveIsoLayout,
  type CpuArchitecture,
  type RunChild,
} from '../iso/index.js';
import { nmstateImageName, nmstateTemporaryName, templateTemporaryName } from './cache-files.js';
import { cacheFileName, compareOpenshiftVersions, type CatalogImage } from './os-image-catalog.js';
import { ScratchSpace } from './scratch-space.js';

/** A base ISO on disk that passed validation. */
export interface VerifiedImage {
  readonly image: CatalogImage;
  readonly path: string;
  readonly sizeBytes: number;
  readonly mtime: Date;
  readonly index: IsoIndex;
}

/**
 * Work done once per cached image after its ISO is verified and before it is served. A step that throws marks the
 * image failed with its message.
 */
export interface ImagePreparationStep {
  readonly name: string;
  prepare(verified: VerifiedImage, signal: AbortSignal): Promise<void>;
  /** Files this step keeps in DATA_DIR for the image, so the start-up cleanup leaves them. */
  expectedFiles?(image: CatalogImage): readonly string[];
}

export const IMAGE_PREPARATION_STEPS = Symbol('IMAGE_PREPARATION_STEPS');

/** Runs the external tools the steps need (xorriso, unsquashfs, erofs-utils): a seam for tests. */
@Injectable()
export class ToolRunner {
  readonly run: RunChild = runChild;
}

/** Reads each verified base ISO's layout once, for every request to reuse. */
@Injectable()
export class ImageLayouts implements ImagePreparationStep {
  readonly name = 'reading the ISO layout';
  private readonly layouts = new Map<string, LiveIsoLayout>();

  async prepare({ image, path, sizeBytes, index }: VerifiedImage): Promise<void> {
    this.layouts.set(image.key, await analyzeLiveIso(path, sizeBytes, index, image.entry.cpuArchitecture));
  }

  get(image: CatalogImage): LiveIsoLayout | undefined {
    return this.layouts.get(image.key);
  }
}

/** Images for OpenShift 4.18.0-ec.0 and later carry nmstatectl to the host for static networking. */
export function needsNmstate(image: CatalogImage): boolean {
  return image.entry.type === 'full-iso' && compareOpenshiftVersions(image.entry.openshiftVersion, '4.18.0-ec.0') >= 0;
}

function nmstateFileName({ entry }: CatalogImage): string {
  return nmstateImageName(entry.version, entry.cpuArchitecture);
}

/**
 * Extracts `nmstatectl` from the image's rootfs once, packs it as a gzip'd cpio and keeps it in DATA_DIR next to the
 * ISO, where later starts reuse it.
 */
@Injectable()
export class NmstateImages implements ImagePreparationStep {
  readonly name = 'extracting nmstatectl';
  private readonly logger = new Logger(NmstateImages.name);
  private readonly images = new Map<string, { readonly path: string; readonly size: number }>();

  constructor(
    private readonly storage: StorageConfig,
    private readonly scratch: ScratchSpace,
    private readonly tools: ToolRunner,
  ) {}

  expectedFiles(image: CatalogImage): readonly string[] {
    return needsNmstate(image) ? [nmstateFileName(image)] : [];
  }

  get(image: CatalogImage): { readonly path: string; readonly size: number } | undefined {
    return this.images.get(image.key);
  }

  async prepare(verified: VerifiedImage, signal: AbortSignal): Promise<void> {
    const { image } = verified;
    if (!needsNmstate(image)) return;
    const path = join(this.storage.dataDir, nmstateFileName(image));
    const cached = await stat(path).catch(() => undefined);
    if (cached !== undefined && cached.size > 0 && cached.mtime >= verified.mtime) {
      this.images.set(image.key, { path, size: cached.size });
      return;
    }
    const binary = await extractNmstatectl({
      isoPath: verified.path,
      workDir: await this.scratch.dir(),
      signal,
      timeout: toolTimeout(this.storage),
      run: this.tools.run,
    });
    const packed = buildNmstateRamdisk(binary);
    const partial = join(this.storage.dataDir, nmstateTemporaryName(nmstateFileName(image)));
    try {
      await writeFile(partial, packed);
      await rename(partial, path);
    } finally {
      await rm(partial, { force: true });
    }
    this.images.set(image.key, { path, size: packed.length });
    this.logger.log(`${nmstateFileName(image)}: nmstatectl of ${image.fileName} packed (${packed.length} bytes)`);
  }
}

/** Minimal ISO templates are built from full ISOs of every architecture but s390x. */
function templateArch({ entry }: CatalogImage): CpuArchitecture | undefined {
  return entry.type === 'full-iso' && entry.cpuArchitecture !== 's390x' ? entry.cpuArchitecture : undefined;
}

/**
 * Builds the minimal ISO template of each full ISO on every start (the rootfs URL or nmstate may have changed) and
 * reads its layout for the download route. A build failure fails the image with its reason. The rootfs URL is this
 * service's `/boot-artifacts/rootfs` when IMAGE_SERVICE_BASE_URL is set, else the catalog entry's rootfs_url.
 */
@Injectable()
export class MinimalTemplates implements ImagePreparationStep {
  readonly name = 'building the minimal ISO template';
  private readonly logger = new Logger(MinimalTemplates.name);
  private readonly layouts = new Map<string, LiveIsoLayout>();
  private readonly unavailable = new Map<string, string>();

  constructor(
    private readonly storage: StorageConfig,
    private readonly server: ServerConfig,
    private readonly nmstate: NmstateImages,
    private readonly scratch: ScratchSpace,
    private readonly tools: ToolRunner,
    private readonly clock: Clock,
  ) {}

  get(image: CatalogImage): LiveIsoLayout | undefined {
    return this.layouts.get(image.key);
  }

  /** Why an image has no template, when it has none. */
  whyUnavailable(image: CatalogImage): string {
    if (templateArch(image) === undefined)
      return `${image.entry.cpuArchitecture} ${image.entry.type} images have no minimal ISO`;
    return this.unavailable.get(image.key) ?? 'its minimal ISO template is not built';
  }

  async prepare(verified: VerifiedImage, signal: AbortSignal): Promise<void> {
    const { image } = verified;
    const { entry } = image;
    const arch = templateArch(image);
    if (arch === undefined) return;
    const query = new URLSearchParams({ arch: entry.cpuArchitecture, version: entry.version });
    const base = this.server.publicBaseUrl;
    const rootfsUrl = base === undefined ? entry.rootfsUrl : `${base}/boot-artifacts/rootfs?${query.toString()}`;
    if (rootfsUrl === undefined) {
      const reason = "no rootfs URL is known for it: set IMAGE_SERVICE_BASE_URL or the catalog entry's rootfs_url";
      this.unavailable.set(image.key, reason);
      this.logger.warn(`${image.fileName}: no minimal ISO template, ${reason}`);
      return;
    }
    const templateName = cacheFileName('minimal-iso', entry.version, entry.cpuArchitecture);
    const outputPath = join(this.storage.dataDir, templateName);
    const nmstate = this.nmstate.get(image);
    const started = this.clock.now();
    await buildMinimalTemplate({
      fullIsoPath: verified.path,
      outputPath,
      workDir: await this.scratch.dir(),
      temporaryName: templateTemporaryName(templateName),
      arch,
      rootfsUrl,
      ...(nmstate && { nmstateImage: await readFile(nmstate.path) }),
      signal,
      timeout: toolTimeout(this.storage),
      run: this.tools.run,
    });
    const { size } = await stat(outputPath);
    const layout = await analyzeLiveIso(outputPath, size, await readIsoIndex(outputPath), entry.cpuArchitecture);
    this.layouts.set(image.key, layout);
    this.unavailable.delete(image.key);
    const seconds = ((this.clock.now() - started) / 1000).toFixed(1);
    this.logger.log(`${image.fileName}: minimal ISO template built in ${seconds} s`);
  }
}

function toolTimeout(storage: StorageConfig): { ms: number; setting: string } {
  return { ms: storage.toolTimeoutSeconds * 1000, setting: 'TOOL_TIMEOUT_SECONDS' };
}
