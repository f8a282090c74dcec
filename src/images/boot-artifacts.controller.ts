import { All, Controller, Get, Head, HttpException, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiDownloadResponses } from './api-docs.js';
import { BOOT_ARTIFACTS, BootArtifactService, isBootArtifact } from './boot-artifact.service.js';
import { DownloadLifecycle } from './download-lifecycle.js';
import { BootArtifactQueryDto } from './download-query.dto.js';
import { queryValidationPipe } from './query-validation.pipe.js';

const ARTIFACT_PARAM = ApiParam({
  name: 'artifact',
  enum: BOOT_ARTIFACTS,
  description: 'rootfs.img, the kernel, or (s390x) generic.ins',
});

@ApiTags('boot-artifacts')
@Controller('boot-artifacts')
export class BootArtifactsController {
  constructor(
    private readonly lifecycle: DownloadLifecycle,
    private readonly artifacts: BootArtifactService,
  ) {}

  @Get(':artifact')
  @ApiOperation({ summary: 'A boot artifact of the cached ISO: rootfs, kernel or ins-file (reference §7.5)' })
  @ARTIFACT_PARAM
  @ApiDownloadResponses([{ status: 405, description: 'Only GET and HEAD are allowed' }])
  get(
    @Param('artifact') artifact: string,
    @Query(queryValidationPipe) query: BootArtifactQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    if (!isBootArtifact(artifact))
      throw new NotFoundException(`unknown boot artifact "${artifact}": use ${BOOT_ARTIFACTS.join(', ')}`);
    return this.lifecycle.run(request, response, () =>
      Promise.resolve(this.artifacts.prepare(artifact, query.version, query.arch)),
    );
  }

  @Head(':artifact')
  @ApiOperation({ summary: 'Headers of a boot artifact, with its exact length' })
  @ARTIFACT_PARAM
  @ApiDownloadResponses()
  head(
    @Param('artifact') artifact: string,
    @Query(queryValidationPipe) query: BootArtifactQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.get(artifact, query, request, response);
  }

  /** Registered after GET and HEAD, so it catches every other method. */
  @All(':artifact')
  @ApiExcludeEndpoint()
  other(@Res({ passthrough: true }) response: Response): never {
    response.set('Allow', 'GET, HEAD');
    throw new HttpException('only GET and HEAD are allowed on boot artifacts', 405);
  }
}
