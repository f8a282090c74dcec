import { Controller, Get, Head, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { resolveCredential } from '../assisted/credentials.js';
import { ASSISTED_ERRORS, ApiDownloadResponses } from './api-docs.js';
import { DownloadLifecycle } from './download-lifecycle.js';
import { AddrsizeQueryDto, PxeQueryDto } from './download-query.dto.js';
import { ImageIdPipe } from './image-id.pipe.js';
import { PxeDownloadService } from './pxe-download.service.js';
import { queryValidationPipe } from './query-validation.pipe.js';

const ID_PARAM = ApiParam({ name: 'image_id', description: 'infra-env id (lowercase UUID)', format: 'uuid' });

@ApiTags('pxe')
@Controller('images/:image_id')
export class PxeController {
  constructor(
    private readonly lifecycle: DownloadLifecycle,
    private readonly pxe: PxeDownloadService,
  ) {}

  @Get('pxe-initrd')
  @ApiOperation({
    summary: 'The PXE initrd of an infra-env: initrd.img, Ignition, ramdisk, nmstate (reference §6, §7.3)',
  })
  @ID_PARAM
  @ApiDownloadResponses(ASSISTED_ERRORS)
  pxeInitrd(
    @Param('image_id', ImageIdPipe) id: string,
    @Query(queryValidationPipe) query: PxeQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.lifecycle.run(request, response, (signal) =>
      this.pxe.preparePxeInitrd(
        { infraEnvId: id, version: query.version, arch: query.arch, credential: credentialOf(query, request) },
        signal,
      ),
    );
  }

  @Head('pxe-initrd')
  @ApiOperation({ summary: 'Headers of the PXE initrd, with its exact length' })
  @ID_PARAM
  @ApiDownloadResponses(ASSISTED_ERRORS)
  headPxeInitrd(
    @Param('image_id', ImageIdPipe) id: string,
    @Query(queryValidationPipe) query: PxeQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.pxeInitrd(id, query, request, response);
  }

  @Get('s390x-initrd-addrsize')
  @ApiOperation({ summary: 'The s390x initrd.addrsize for the customised PXE initrd (reference §6, §7.4)' })
  @ID_PARAM
  @ApiDownloadResponses(ASSISTED_ERRORS)
  addrsize(
    @Param('image_id', ImageIdPipe) id: string,
    @Query(queryValidationPipe) query: AddrsizeQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.lifecycle.run(request, response, (signal) =>
      this.pxe.prepareAddrsize(
        { infraEnvId: id, version: query.version, arch: 's390x', credential: credentialOf(query, request) },
        signal,
      ),
    );
  }

  @Head('s390x-initrd-addrsize')
  @ApiOperation({ summary: 'Headers of the s390x initrd.addrsize' })
  @ID_PARAM
  @ApiDownloadResponses(ASSISTED_ERRORS)
  headAddrsize(
    @Param('image_id', ImageIdPipe) id: string,
    @Query(queryValidationPipe) query: AddrsizeQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.addrsize(id, query, request, response);
  }
}

function credentialOf(
  query: { api_key?: string; image_token?: string },
  request: Request,
): ReturnType<typeof resolveCredential> {
  return resolveCredential({
    queryApiKey: query.api_key,
    queryImageToken: query.image_token,
    authorizationHeader: request.headers.authorization,
  });
}
