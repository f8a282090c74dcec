import { Module } from '@nestjs/common';
import { BootArtifactService } from './boot-artifact.service.js';
import { BootArtifactsController } from './boot-artifacts.controller.js';
import { DownloadLifecycle } from './download-lifecycle.js';
import { DownloadResponder } from './download-responder.js';
import { ImageDownloadService } from './image-download.service.js';
import { ImagesController } from './images.controller.js';
import { PxeController } from './pxe.controller.js';
import { PxeDownloadService } from './pxe-download.service.js';
import { ReadyImages } from './ready-images.js';
import { RequestSlots } from './request-slots.js';
import { ShortUrlsController } from './short-urls.controller.js';
import { StalledDownloadSweep } from '../server/stalled-download-sweep.js';

/** Image and artifact download routes (reference §7.1–§7.5). */
@Module({
  controllers: [ImagesController, ShortUrlsController, PxeController, BootArtifactsController],
  providers: [
    ImageDownloadService,
    PxeDownloadService,
    BootArtifactService,
    ReadyImages,
    DownloadResponder,
    DownloadLifecycle,
    RequestSlots,
    StalledDownloadSweep,
  ],
})
export class ImagesModule {}
