import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { ServerConfig, StorageConfig } from '../config/app-config.js';
import { readIsoIndex } from '../iso/index.js';
import { analyzeLiveIso, type LiveIsoLayout } from '../iso/index.js';
import { buildMinimalTemplate, type MinimalTemplateArch } from '../iso/index.js';
import { templateTemporaryName } from './cache-file-names.js';
import type { ImagePreparationStep, VerifiedImage } from './image-preparation.js';
import { NmstateImages } from './nmstate-images.js';
import { cacheFileName, type CatalogImage } from './os-image-catalog.js';
import { ScratchSpace } from './scratch-space.js';

const TEMPLATE_ARCHES: readonly string[] = ['x86_64', 'arm64', 'ppc64le'];

/** Minimal ISO templates are built from full ISOs of these architectures only (reference §5). */
export function hasMinimalTemplate(image: CatalogImage): boolean {
  return image.entry.type === 'full-iso' && TEMPLATE_ARCHES.includes(image.entry.cpuArchitecture);
}

/**
 * The rootfs URL a minimal ISO boots from: this service's `/boot-artifacts/rootfs` when IMAGE_SERVICE_BASE_URL is
 * set, else the catalog entry's rootfs_url.
 */
export function rootfsUrlOf(image: CatalogImage, publicBaseUrl: string | undefined): string | undefined {
  if (publicBaseUrl === undefined) return image.entry.rootfsUrl;
  const query = new URLSearchParams({ arch: image.entry.cpuArchitecture, version: image.entry.version });
  return `${publicBaseUrl}/boot-artifacts/rootfs?${query.toString()}`;
}

/**
 * Preparation step: builds the minimal ISO template of each full ISO on every start (the rootfs URL or nmstate may
 * have changed) and reads its layout for the download route. A build failure fails the image with its reason.
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
  ) {}

  get(image: CatalogImage): LiveIsoLayout | undefined {
    return this.layouts.get(image.key);
  }

  /** Why an image has no template, when it has none. */
  whyUnavailable(image: CatalogImage): string {
    if (!hasMinimalTemplate(image))
      return `${image.entry.cpuArchitecture} ${image.entry.type} images have no minimal ISO`;
    return this.unavailable.get(image.key) ?? 'its minimal ISO template is not built';
  }

  async prepare(verified: VerifiedImage, signal: AbortSignal): Promise<void> {
    const { image } = verified;
    if (!hasMinimalTemplate(image)) return;
    const rootfsUrl = rootfsUrlOf(image, this.server.publicBaseUrl);
    if (rootfsUrl === undefined) {
      const reason = "no rootfs URL is known for it: set IMAGE_SERVICE_BASE_URL or the catalog entry's rootfs_url";
      this.unavailable.set(image.key, reason);
      this.logger.warn(`${image.fileName}: no minimal ISO template, ${reason}`);
      return;
    }
    const templateName = cacheFileName('minimal-iso', image.entry.version, image.entry.cpuArchitecture);
    const outputPath = join(this.storage.dataDir, templateName);
    const nmstate = this.nmstate.get(image);
    const started = Date.now();
    await buildMinimalTemplate({
      fullIsoPath: verified.path,
      outputPath,
      workDir: await this.scratch.dir(),
      temporaryName: templateTemporaryName(templateName),
      arch: image.entry.cpuArchitecture as MinimalTemplateArch,
      rootfsUrl,
      ...(nmstate && { nmstateImage: await readFile(nmstate.path) }),
      signal,
      timeout: { ms: this.storage.toolTimeoutSeconds * 1000, setting: 'TOOL_TIMEOUT_SECONDS' },
    });
    const index = await readIsoIndex(outputPath);
    const { size } = await stat(outputPath);
    this.layouts.set(image.key, await analyzeLiveIso(outputPath, size, index, image.entry.cpuArchitecture));
    this.unavailable.delete(image.key);
    this.logger.log(`${image.fileName}: minimal ISO template built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
