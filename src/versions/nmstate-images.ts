import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { StorageConfig } from '../config/app-config.js';
import { buildNmstateRamdisk } from '../iso/index.js';
import { extractNmstatectl } from '../iso/index.js';
import { nmstateImageName, nmstateTemporaryName } from './cache-file-names.js';
import type { ImagePreparationStep, VerifiedImage } from './image-preparation.js';
import type { CatalogImage } from './os-image-catalog.js';
import { compareOpenshiftVersions } from './openshift-version.js';
import { ScratchSpace } from './scratch-space.js';

/** Images for OpenShift 4.18.0-ec.0 and later carry nmstatectl to the host for static networking (reference §6). */
export const NMSTATE_MINIMUM_OPENSHIFT_VERSION = '4.18.0-ec.0';

export function needsNmstate(image: CatalogImage): boolean {
  return (
    image.entry.type === 'full-iso' &&
    compareOpenshiftVersions(image.entry.openshiftVersion, NMSTATE_MINIMUM_OPENSHIFT_VERSION) >= 0
  );
}

export function nmstateFileName(image: CatalogImage): string {
  return nmstateImageName(image.entry.version, image.entry.cpuArchitecture);
}

export interface NmstateImage {
  readonly path: string;
  readonly size: number;
}

/**
 * Preparation step: extracts `nmstatectl` from the image's rootfs once, packs it as a gzip'd cpio and keeps it in
 * DATA_DIR next to the ISO, where later starts reuse it.
 */
@Injectable()
export class NmstateImages implements ImagePreparationStep {
  readonly name = 'extracting nmstatectl';
  private readonly logger = new Logger(NmstateImages.name);
  private readonly images = new Map<string, NmstateImage>();

  constructor(
    private readonly storage: StorageConfig,
    private readonly scratch: ScratchSpace,
  ) {}

  expectedFiles(image: CatalogImage): readonly string[] {
    return needsNmstate(image) ? [nmstateFileName(image)] : [];
  }

  get(image: CatalogImage): NmstateImage | undefined {
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
      timeout: { ms: this.storage.toolTimeoutSeconds * 1000, setting: 'TOOL_TIMEOUT_SECONDS' },
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
