import { Controller, Get, Module } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import type { HealthCheckResult, HealthIndicatorResult } from '@nestjs/terminus';
import { Clock } from '../common/clock.js';
import { ImageCacheService } from '../versions/image-cache.service.js';
import { describeState, retryAfterSeconds, type FailedImageState, type ImageState } from '../versions/image-state.js';

/** One catalog image as readiness sees it; `settled` once its first attempt since start has finished. */
export type ImageReadiness = { state: ImageState; settled: boolean; lastFailure: FailedImageState | undefined };

/** Ready once every image had its first attempt and one is ready: one broken mirror must not take a replica out. */
export function isReplicaReady(images: readonly ImageReadiness[]): boolean {
  return images.every((image) => image.settled) && images.some((image) => image.state.status === 'ready');
}

/** One image in the `/health` body: its state, and what explains it (first attempt, the failure it is retrying). */
export function describeImageReadiness({ state, settled, lastFailure: last }: ImageReadiness, now: number): object {
  return {
    ...describeState(state),
    ...(!settled && { firstAttempt: true }),
    ...(state.status === 'failed' && { retryInSeconds: retryAfterSeconds(state, now) }),
    ...(state.status !== 'failed' && last && { lastFailure: { reason: last.reason, attempts: last.attempts } }),
  };
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly cache: ImageCacheService,
    private readonly clock: Clock,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({ description: 'The process is alive', schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: 503 until every image had its first attempt; then 200 while one is ready' })
  @ApiOkResponse({ description: "Every image had its first attempt and one is ready; the body lists each's state" })
  @ApiServiceUnavailableResponse({ description: 'An image is on its first attempt, or none is ready: the body says' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.images()]);
  }

  private images(): HealthIndicatorResult<'images'> {
    const images: ImageReadiness[] = [];
    const details: Record<string, object> = {};
    for (const { image, state } of this.cache.snapshot()) {
      const readiness = { state, settled: this.cache.hasSettled(image), lastFailure: this.cache.lastFailure(image) };
      images.push(readiness);
      details[image.fileName] = describeImageReadiness(readiness, this.clock.now());
    }
    const session = this.indicator.check('images');
    return isReplicaReady(images) ? session.up(details) : session.down(details);
  }
}

@Module({
  // Readiness is probed every few seconds during a long sync: a failing check is a state, not an error to log.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [Clock],
})
export class HealthModule {}
