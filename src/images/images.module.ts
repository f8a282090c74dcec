import { Module } from '@nestjs/common';
import { DownloadLifecycle } from './download-lifecycle.js';
import { DownloadResponder } from './download-responder.js';
import { ImageDownloadService } from './image-download.service.js';
import { ImagesController } from './images.controller.js';
import { RequestSlots } from './request-slots.js';
import { ShortUrlsController } from './short-urls.controller.js';

/** Image and artifact download routes (reference §7.1–§7.5). */
@Module({
  controllers: [ImagesController, ShortUrlsController],
  providers: [ImageDownloadService, DownloadResponder, DownloadLifecycle, RequestSlots],
})
export class ImagesModule {}
