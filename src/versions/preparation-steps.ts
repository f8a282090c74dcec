import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { ServerConfig, StorageConfig } from '../config/app-config.js';
import * as iso from '../iso/index.js';
import * as names from './cache-files.js';
import { compareOpenshiftVersions, type CatalogImage } from './os-image-catalog.js';
import { ToolRunner } from './tool-runner.js';

/** A base ISO on disk that passed validation. */
export interface VerifiedImage {
  readonly image: CatalogImage;
  readonly path: string;
  readonly sizeBytes: number;
  readonly mtime: Date;
  readonly index: iso.IsoIndex;
}

/** Work done once per verified image before it is served; a step that throws fails the image with its message. */
export interface ImagePreparationStep {
  readonly name: string;
  prepare(verified: VerifiedImage, signal: AbortSignal): Promise<void>;
  /** Files this step keeps in DATA_DIR for the image, so the start-up cleanup leaves them. */
  expectedFiles?(image: CatalogImage): readonly string[];
}

export const IMAGE_PREPARATION_STEPS = Symbol('IMAGE_PREPARATION_STEPS');

/** Reads each verified base ISO's layout once, for every request to reuse. */
@Injectable()
export class ImageLayouts implements ImagePreparationStep {
  readonly name = 'reading the ISO layout';
  private readonly layouts = new Map<string, iso.LiveIsoLayout>();

  async prepare({ image, path, sizeBytes, index }: VerifiedImage): Promise<void> {
    this.layouts.set(image.key, await iso.analyzeLiveIso(path, sizeBytes, index, image.entry.cpuArchitecture));
  }

  get(image: CatalogImage): iso.LiveIsoLayout | undefined {
    return this.layouts.get(image.key);
  }
}

/** Images for OpenShift 4.18.0-ec.0 and later carry nmstatectl to the host for static networking. */
function needsNmstate(image: CatalogImage): boolean {
  return image.entry.type === 'full-iso' && compareOpenshiftVersions(image.entry.openshiftVersion, '4.18.0-ec.0') >= 0;
}

/** Extracts `nmstatectl` from the rootfs once and keeps it packed in DATA_DIR, where later starts reuse it. */
@Injectable()
export class NmstateImages implements ImagePreparationStep {
  readonly name = 'extracting nmstatectl';
  private readonly logger = new Logger(NmstateImages.name);
  private readonly images = new Map<string, { readonly path: string; readonly size: number }>();

  constructor(
    private readonly storage: StorageConfig,
    private readonly tools: ToolRunner,
  ) {}

  expectedFiles(image: CatalogImage): readonly string[] {
    return needsNmstate(image) ? [names.nmstateImageName(image.entry)] : [];
  }

  /** Undefined for an image that needs none (see needsNmstate) or is not prepared yet. */
  get(image: CatalogImage): { readonly path: string; readonly size: number } | undefined {
    return this.images.get(image.key);
  }

  async prepare({ image, path: isoPath, mtime }: VerifiedImage, signal: AbortSignal): Promise<void> {
    if (!needsNmstate(image)) return;
    const name = names.nmstateImageName(image.entry);
    const path = join(this.storage.dataDir, name);
    const cached = await stat(path).catch(() => undefined);
    if (cached !== undefined && cached.size > 0 && cached.mtime >= mtime) {
      this.images.set(image.key, { path, size: cached.size });
      return;
    }
    const binary = await iso.extractNmstatectl({ isoPath, ...(await this.tools.options(signal)) });
    const packed = iso.buildNmstateRamdisk(binary);
    await iso.writeAtomically(path, (temporary) => writeFile(temporary, packed), names.nmstateTemporaryName(name));
    this.images.set(image.key, { path, size: packed.length });
    this.logger.log(`${name}: nmstatectl of ${image.fileName} packed (${packed.length} bytes)`);
  }
}

/** Minimal ISO templates are built from full ISOs of every architecture but s390x. */
function templateArch({ entry }: CatalogImage): iso.CpuArchitecture | undefined {
  return entry.type === 'full-iso' && entry.cpuArchitecture !== 's390x' ? entry.cpuArchitecture : undefined;
}

/** Builds each full ISO's minimal ISO template on every start (the rootfs URL or nmstate may have changed). */
@Injectable()
export class MinimalTemplates implements ImagePreparationStep {
  readonly name = 'building the minimal ISO template';
  private readonly logger = new Logger(MinimalTemplates.name);
  private readonly layouts = new Map<string, iso.LiveIsoLayout>();
  private readonly unavailable = new Map<string, string>();

  constructor(
    private readonly storage: StorageConfig,
    private readonly server: ServerConfig,
    private readonly nmstate: NmstateImages,
    private readonly tools: ToolRunner,
    private readonly clock: Clock,
  ) {}

  get(image: CatalogImage): iso.LiveIsoLayout | undefined {
    return this.layouts.get(image.key);
  }

  whyUnavailable(image: CatalogImage): string {
    if (templateArch(image) === undefined)
      return `${image.entry.cpuArchitecture} ${image.entry.type} images have no minimal ISO`;
    return this.unavailable.get(image.key) ?? 'its minimal ISO template is not built';
  }

  async prepare({ image, path: fullIsoPath }: VerifiedImage, signal: AbortSignal): Promise<void> {
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
    const templateName = names.cacheFileName('minimal-iso', entry.version, entry.cpuArchitecture);
    const outputPath = join(this.storage.dataDir, templateName);
    const nmstate = this.nmstate.get(image);
    const started = this.clock.now();
    await iso.buildMinimalTemplate({
      fullIsoPath,
      outputPath,
      temporaryName: names.templateTemporaryName(templateName),
      arch,
      rootfsUrl,
      ...(nmstate && { nmstateImage: await readFile(nmstate.path) }),
      ...(await this.tools.options(signal)),
    });
    const [{ size }, index] = await Promise.all([stat(outputPath), iso.readIsoIndex(outputPath)]);
    this.layouts.set(image.key, await iso.analyzeLiveIso(outputPath, size, index, arch));
    this.unavailable.delete(image.key);
    const seconds = ((this.clock.now() - started) / 1000).toFixed(1);
    this.logger.log(`${image.fileName}: minimal ISO template built in ${seconds} s`);
  }
}

/** The steps in the order they run: the minimal ISO template embeds nmstate.img. */
export const PREPARATION_STEPS = [ImageLayouts, NmstateImages, MinimalTemplates];
