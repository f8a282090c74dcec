import { Module } from '@nestjs/common';

/** Image and artifact download routes (reference §7.1–§7.5); they are added as controllers here. */
@Module({})
export class ImagesModule {}
