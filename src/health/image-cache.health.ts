import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ImageCacheService } from '../versions/image-cache.service.js';
import { describeState } from '../versions/image-state.js';

/** Up when every catalog image is ready to serve; the details list each image's state either way. */
@Injectable()
export class ImageCacheHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly cache: ImageCacheService,
  ) {}

  check(): HealthIndicatorResult<'images'> {
    const session = this.health.check('images');
    const images = Object.fromEntries(this.cache.snapshot().map(({ image, state }) => [image.fileName, describeState(state)]));
    return this.cache.isReady() ? session.up(images) : session.down(images);
  }
}
