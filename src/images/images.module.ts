import { Module } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { ArtifactsController } from './artifacts.controller.js';
import { DownloadResponder, RequestSlots } from './download-responder.js';
import { ImageDownloadService } from './image-download.service.js';
import { ImagesController } from './images.controller.js';

/** The image and artifact download routes. */
@Module({
  controllers: [ImagesController, ArtifactsController],
  providers: [ImageDownloadService, DownloadResponder, RequestSlots, Clock],
})
export class ImagesModule {}
