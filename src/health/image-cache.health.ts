import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ImageCacheService } from '../versions/image-cache.service.js';
import { describeState, retryAfterSeconds, type FailedImageState, type ImageState } from '../versions/image-state.js';

/** What readiness needs to know of one catalog image. */
export interface ImageReadiness {
  readonly state: ImageState;
  /** Its first attempt since start has finished, ready or failed. */
  readonly settled: boolean;
  readonly lastFailure: FailedImageState | undefined;
}

/**
 * Ready once every image has had its first attempt and at least one of them is ready. Before that a replica would
 * take traffic for images it is about to have; afterwards, images are independent: one broken mirror must not take
 * a replica that serves the others out of the load balancer. With none ready there is nothing to serve.
 */
export function isReplicaReady(images: readonly ImageReadiness[]): boolean {
  return images.every((image) => image.settled) && images.some((image) => image.state.status === 'ready');
}

/** One image in the `/health` body: its state, and what explains it (first attempt, the failure it is retrying). */
export function describeImageReadiness(image: ImageReadiness, now: number): Record<string, unknown> {
  const { state, lastFailure } = image;
  return {
    ...describeState(state),
    ...(!image.settled && { firstAttempt: true }),
    ...(state.status === 'failed' && state.retryAt !== undefined && { retryInSeconds: retryAfterSeconds(state, now) }),
    ...(state.status !== 'failed' &&
      lastFailure !== undefined && { lastFailure: { reason: lastFailure.reason, attempts: lastFailure.attempts } }),
  };
}

/** Readiness of the replica (see isReplicaReady); the details list every image's state and failure either way. */
@Injectable()
export class ImageCacheHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly cache: ImageCacheService,
  ) {}

  check(): HealthIndicatorResult<'images'> {
    const session = this.health.check('images');
    const now = Date.now();
    const images = this.cache.snapshot().map(({ image, state }) => ({
      fileName: image.fileName,
      readiness: { state, settled: this.cache.hasSettled(image), lastFailure: this.cache.lastFailure(image) },
    }));
    const details = Object.fromEntries(
      images.map(({ fileName, readiness }) => [fileName, describeImageReadiness(readiness, now)]),
    );
    return isReplicaReady(images.map(({ readiness }) => readiness)) ? session.up(details) : session.down(details);
  }
}
