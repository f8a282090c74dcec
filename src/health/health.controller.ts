import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ImageCacheHealthIndicator } from './image-cache.health.js';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly images: ImageCacheHealthIndicator,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({ description: 'The process is alive', schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health')
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: 503 while any image is on its first attempt; then 200 while at least one image is ready, 503 when none is',
    description: "The body lists every image's state, and the reason and next retry of every failed image.",
  })
  @ApiOkResponse({
    description:
      'At least one image is ready and every image has had its first attempt; failed images are listed with their reasons',
  })
  @ApiServiceUnavailableResponse({
    description: 'An image is still on its first attempt, or no image is ready; the body lists the state of each',
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.images.check()]);
  }
}
