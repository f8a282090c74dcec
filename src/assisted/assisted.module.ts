import { Module } from '@nestjs/common';

/** The assisted-service client (reference §8); its calls arrive with the image routes. */
@Module({})
export class AssistedModule {}
