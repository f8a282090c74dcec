import { Injectable } from '@nestjs/common';
import { ServiceError } from '../common/service-error.js';
import type { LiveIsoFiles } from '../iso/index.js';
import { VirtualFile } from '../iso/index.js';
import { ImageLayouts } from '../versions/image-layouts.js';
import type { Downloadable } from './download-responder.js';
import { isoFileSegments } from './pxe-download.service.js';
import { ReadyImages } from './ready-images.js';

export const BOOT_ARTIFACTS = ['rootfs', 'kernel', 'ins-file'] as const;
export type BootArtifact = (typeof BOOT_ARTIFACTS)[number];

const SOURCES: Readonly<Record<BootArtifact, keyof LiveIsoFiles>> = {
  rootfs: 'rootfs',
  kernel: 'kernel',
  'ins-file': 'insFile',
};

export function isBootArtifact(name: string): name is BootArtifact {
  return (BOOT_ARTIFACTS as readonly string[]).includes(name);
}

/** Files of the cached ISO served as they are (reference §7.5): no assisted-service call, the ISO's mtime. */
@Injectable()
export class BootArtifactService {
  constructor(
    private readonly readyImages: ReadyImages,
    private readonly layouts: ImageLayouts,
  ) {}

  prepare(artifact: BootArtifact, version: string, arch: string): Downloadable {
    const { image, base } = this.readyImages.find(version, arch, 'full-iso', 400);
    if (artifact === 'ins-file' && image.entry.cpuArchitecture !== 's390x') {
      throw new ServiceError(404, 'ins-file exists for s390x images only');
    }
    const source = this.layouts.get(image)?.files[SOURCES[artifact]];
    if (source === undefined)
      throw new ServiceError(404, `the ${image.entry.version} ${image.entry.cpuArchitecture} image has no ${artifact}`);
    const file = VirtualFile.concat(isoFileSegments(base.path, source));
    const filename = source.path.split('/').at(-1) ?? artifact;
    return { file, size: file.size, filename, lastModified: base.mtime };
  }
}
