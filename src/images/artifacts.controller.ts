import {
  All,
  Controller,
  Get,
  HttpException,
  Inject,
  NotFoundException,
  Param,
  Query,
  Res,
  applyDecorators,
} from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DownloadResponder } from './download-responder.js';
import {
  ASSISTED_ERRORS,
  AddrsizeQueryDto,
  ApiDownload,
  BootArtifactQueryDto,
  ImageIdPipe,
  PxeQueryDto,
  QUERY_PIPE,
  credentialOf,
} from './download-query.dto.js';
import { BOOT_ARTIFACTS, ImageDownloadService, type BootArtifact } from './image-download.service.js';

const PxeRoute = (summary: string): MethodDecorator =>
  applyDecorators(
    ApiTags('pxe'),
    ApiOperation({ summary }),
    ApiParam({ name: 'image_id', description: 'infra-env id (lowercase UUID)', format: 'uuid' }),
    ApiDownload(ASSISTED_ERRORS),
  );

/** What PXE firmware and BMCs fetch besides ISOs: the customised PXE initrd, its s390x addrsize, and boot files. */
@Controller()
export class ArtifactsController {
  constructor(
    @Inject(DownloadResponder) private readonly responder: DownloadResponder,
    @Inject(ImageDownloadService) private readonly images: ImageDownloadService,
  ) {}

  @Get('images/:image_id/pxe-initrd')
  @PxeRoute('The PXE initrd of an infra-env: initrd.img, Ignition, ramdisk, nmstate')
  pxeInitrd(
    @Param('image_id', ImageIdPipe) id: string,
    @Query(QUERY_PIPE) query: PxeQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    const request = {
      infraEnvId: id,
      version: query.version,
      arch: query.arch,
      credential: credentialOf(query, response.req),
    };
    return this.responder.serve(response, (signal) => this.images.pxeInitrd(request, signal));
  }

  @Get('images/:image_id/s390x-initrd-addrsize')
  @PxeRoute('The s390x initrd.addrsize for the customised PXE initrd')
  addrsize(
    @Param('image_id', ImageIdPipe) id: string,
    @Query(QUERY_PIPE) query: AddrsizeQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    const request = {
      infraEnvId: id,
      version: query.version,
      arch: 's390x',
      credential: credentialOf(query, response.req),
    };
    return this.responder.serve(response, (signal) => this.images.addrsize(request, signal));
  }

  @Get('boot-artifacts/:artifact')
  @ApiTags('boot-artifacts')
  @ApiOperation({ summary: 'A boot artifact of the cached ISO: rootfs, kernel or ins-file' })
  @ApiParam({ name: 'artifact', enum: BOOT_ARTIFACTS, description: 'rootfs.img, the kernel, or (s390x) generic.ins' })
  @ApiDownload({ 405: 'Only GET and HEAD are allowed' })
  bootArtifact(
    @Param('artifact') artifact: string,
    @Query(QUERY_PIPE) query: BootArtifactQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    if (!(BOOT_ARTIFACTS as readonly string[]).includes(artifact))
      throw new NotFoundException(`unknown boot artifact "${artifact}": use ${BOOT_ARTIFACTS.join(', ')}`);
    return this.responder.serve(response, () =>
      this.images.bootArtifact(artifact as BootArtifact, query.version, query.arch),
    );
  }

  /** Registered after GET (which answers HEAD too), so it catches every other method. */
  @All('boot-artifacts/:artifact')
  @ApiExcludeEndpoint()
  otherMethod(@Res({ passthrough: true }) response: Response): never {
    response.set('Allow', 'GET, HEAD');
    throw new HttpException('only GET and HEAD are allowed on boot artifacts', 405);
  }
}
