import { Injectable } from '@nestjs/common';
import { ServiceError } from '../common/service-error.js';
import { ImageCacheService } from '../versions/image-cache.service.js';
import type { VerifiedImage } from '../versions/image-preparation.js';
import type { BaseImageType } from '../versions/os-image.js';
import type { CatalogImage } from '../versions/os-image-catalog.js';

/**
 * The gate every download route passes: 503 until the whole cache is ready (reference §4), then the catalog image
 * for (version, arch, type) or an error with the status the route documents for an unknown one.
 */
@Injectable()
export class ReadyImages {
  constructor(private readonly cache: ImageCacheService) {}

  find(version: string, arch: string, type: BaseImageType, unknownStatus: 400 | 404): { image: CatalogImage; base: VerifiedImage } {
    if (!this.cache.isReady()) {
      const states = this.cache.snapshot();
      const ready = states.filter(({ state }) => state.status === 'ready').length;
      throw new ServiceError(503, `the image cache is not ready yet (${ready} of ${states.length} images ready)`, { 'Retry-After': '30' });
    }
    const image = this.cache.catalog.find(version, arch, type);
    const base = image && this.cache.readyImage(image);
    if (image === undefined || base === undefined) {
      throw new ServiceError(unknownStatus, `no ${type} image for version "${version}" and architecture "${arch}"`);
    }
    return { image, base };
  }
}
