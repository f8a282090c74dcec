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
  @ApiOperation({ summary: 'Readiness: 200 once every image in the catalog is cached and ready, 503 until then' })
  @ApiServiceUnavailableResponse({ description: 'Some images are not ready yet; the body lists the state of each' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.images.check()]);
  }
}
