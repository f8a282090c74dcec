import { Controller, Get, Module } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { Clock } from '../common/clock.js';
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
  @ApiOperation({ summary: 'Readiness: 503 until every image had its first attempt; then 200 while one is ready' })
  @ApiOkResponse({ description: "Every image had its first attempt and one is ready; the body lists each's state" })
  @ApiServiceUnavailableResponse({ description: 'An image is on its first attempt, or none is ready: the body says' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.images.check()]);
  }
}

@Module({
  // Readiness is probed every few seconds during a long sync: a failing check is a state, not an error to log.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ImageCacheHealthIndicator, Clock],
})
export class HealthModule {}
