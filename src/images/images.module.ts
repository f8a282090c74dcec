import { Module } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { ImageDownloadService } from './image-download.service.js';
import { ArtifactsController, ImagesController } from './images.controller.js';

/** The image and artifact download routes. */
@Module({
  imports: [DeliveryModule],
  controllers: [ImagesController, ArtifactsController],
  providers: [ImageDownloadService, Clock],
})
export class ImagesModule {}
