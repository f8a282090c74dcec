import { Controller, Get, Head, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { resolveCredential } from '../assisted/credentials.js';
import { ASSISTED_ERRORS, ApiDownloadResponses } from './api-docs.js';
import { DownloadLifecycle } from './download-lifecycle.js';
import { DownloadQueryDto } from './download-query.dto.js';
import { ImageDownloadService } from './image-download.service.js';
import { ImageIdPipe } from './image-id.pipe.js';
import { queryValidationPipe } from './query-validation.pipe.js';

@ApiTags('images')
@Controller('images')
export class ImagesController {
  constructor(
    private readonly lifecycle: DownloadLifecycle,
    private readonly images: ImageDownloadService,
  ) {}

  @Get(':image_id')
  @ApiOperation({ summary: 'Download the discovery ISO of an infra-env (reference §7.1)' })
  @ApiParam({ name: 'image_id', description: 'infra-env id (lowercase UUID)', format: 'uuid' })
  @ApiDownloadResponses([{ status: 501, description: 'The image type is not available' }, ...ASSISTED_ERRORS])
  download(
    @Param('image_id', ImageIdPipe) imageId: string,
    @Query(queryValidationPipe) query: DownloadQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.serve(imageId, query, request, response);
  }

  @Head(':image_id')
  @ApiOperation({ summary: 'Headers of the discovery ISO, with its exact Content-Length' })
  @ApiParam({ name: 'image_id', description: 'infra-env id (lowercase UUID)', format: 'uuid' })
  @ApiDownloadResponses(ASSISTED_ERRORS)
  head(
    @Param('image_id', ImageIdPipe) imageId: string,
    @Query(queryValidationPipe) query: DownloadQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.serve(imageId, query, request, response);
  }

  private serve(imageId: string, query: DownloadQueryDto, request: Request, response: Response): Promise<void> {
    const credential = resolveCredential({
      queryApiKey: query.api_key,
      queryImageToken: query.image_token,
      authorizationHeader: request.headers.authorization,
    });
    return this.lifecycle.run(request, response, (signal) =>
      this.images.prepare(
        { infraEnvId: imageId, type: query.type, version: query.version, arch: query.arch, credential },
        signal,
      ),
    );
  }
}
