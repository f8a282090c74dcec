import { Injectable } from '@nestjs/common';
import { ServiceError } from '../common/service-error.js';
import { ImageCacheService } from '../versions/image-cache.service.js';
import type { VerifiedImage } from '../versions/image-preparation.js';
import { notReadyReason, retryAfterSeconds } from '../versions/image-state.js';
import type { BaseImageType } from '../versions/os-image.js';
import type { CatalogImage } from '../versions/os-image-catalog.js';

/**
 * The gate every download route passes: the catalog image for (version, arch, type) once that image is ready,
 * whatever state the others are in. An unknown one gets the status the route documents; one that is not ready
 * yet gets 503 with its state and a Retry-After (for a failed image: when its next attempt starts).
 */
@Injectable()
export class ReadyImages {
  constructor(private readonly cache: ImageCacheService) {}

  find(
    version: string,
    arch: string,
    type: BaseImageType,
    unknownStatus: 400 | 404,
  ): { image: CatalogImage; base: VerifiedImage } {
    const image = this.cache.catalog.find(version, arch, type);
    if (image === undefined) {
      throw new ServiceError(unknownStatus, `no ${type} image for version "${version}" and architecture "${arch}"`);
    }
    const base = this.cache.readyImage(image);
    if (base === undefined) throw this.notReady(image);
    return { image, base };
  }

  private notReady(image: CatalogImage): ServiceError {
    const state = this.cache.stateOf(image);
    const now = Date.now();
    const reason = notReadyReason(state, this.cache.lastFailure(image), now);
    return new ServiceError(503, `${image.fileName} is not ready: ${reason}`, {
      'Retry-After': String(retryAfterSeconds(state, now)),
    });
  }
}
