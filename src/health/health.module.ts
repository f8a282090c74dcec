import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { ImageCacheHealthIndicator } from './image-cache.health.js';

@Module({
  // Readiness is probed every few seconds while a large sync runs: a failing check is an expected state, not an error to log.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ImageCacheHealthIndicator],
})
export class HealthModule {}
